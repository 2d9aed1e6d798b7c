import { UsageError } from '../exit-codes.js';
import type { DeadLetterView } from './dead-letter.js';

/** `--group`, `--reason`, `--since`, `--limit` of the dlq commands. */
export interface DeadLetterFilter {
  readonly group: string | undefined;
  /** One or more reasons (`--reason max-attempts,invalid`). */
  readonly reasons: readonly string[] | undefined;
  /** Dead-lettered (last failure) at or after this instant. */
  readonly since: Date | undefined;
  /** At most this many matching dead letters. */
  readonly limit: number | undefined;
}

export interface FilterFlags {
  readonly group?: string | undefined;
  readonly reason?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: number | undefined;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function filterOf(flags: FilterFlags, now: Date = new Date()): DeadLetterFilter {
  return {
    group: flags.group,
    reasons: flags.reason === undefined ? undefined : flags.reason.split(',').map((r) => r.trim()).filter(Boolean),
    since: flags.since === undefined ? undefined : parseSince(flags.since, now),
    limit: flags.limit,
  };
}

/** An ISO time (`2024-05-01T02:00:00Z`) or a duration back from now (`90m`, `2h`, `1d`). */
export function parseSince(text: string, now: Date): Date {
  const duration = DURATION.exec(text.trim());
  if (duration) return new Date(now.getTime() - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--since ${JSON.stringify(text)}: give an ISO time (2024-05-01T02:00:00Z) or a duration back from now (30m, 2h, 1d)`);
  return new Date(ms);
}

export function matches(filter: DeadLetterFilter, letter: DeadLetterView): boolean {
  if (filter.group !== undefined && letter.group !== filter.group) return false;
  if (filter.reasons !== undefined && (letter.reason === undefined || !filter.reasons.includes(letter.reason))) return false;
  if (filter.since !== undefined) {
    const at = letter.lastFailureAt === undefined ? Number.NaN : Date.parse(letter.lastFailureAt);
    if (Number.isNaN(at) || at < filter.since.getTime()) return false;
  }
  return true;
}
