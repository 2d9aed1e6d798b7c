import { describeThrown, cutBytes } from './describe-error.js';
import { DeadLetterHeaders, EnvelopeHeaders, type DeadLetterReason } from './headers.js';
import type { OutgoingMessage, TransportMessage } from './transport.js';

/**
 * Bytes core keeps free in every message it accepts for publishing, so that its dead-letter
 * copy (the original headers plus the bounded `omnibus-dlq-*` headers below) still fits the
 * transport's `maxMessageBytes`. The dead-letter headers take at most 3,871 bytes: names
 * 206, original topic and group 200 each, error name 128, message 1,024, stack 2,048,
 * reason, attempt count and two ISO times; the rest is left for a transport's per-header
 * framing.
 */
export const DEAD_LETTER_HEADROOM_BYTES = 4_096;

/**
 * Marks a message whose handling is over but whose dead-letter copy could not be stored:
 * on redelivery core retries the dead-letter publish instead of running the handler again.
 */
export const PendingDeadLetterHeaders = {
  reason: 'omnibus-dead-letter-pending',
  failures: 'omnibus-dead-letter-failures',
} as const;

export interface DeadLetterInput {
  readonly original: TransportMessage;
  readonly deadLetterTopic: string;
  readonly group: string;
  readonly attempt: number;
  readonly reason: DeadLetterReason;
  readonly error: unknown;
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
}

const BOOKKEEPING: readonly string[] = [EnvelopeHeaders.firstFailureAt, PendingDeadLetterHeaders.reason, PendingDeadLetterHeaders.failures];

/**
 * The dead-letter copy of a message: same id, key and body; the original headers without
 * core's retry bookkeeping; the documented `omnibus-dlq-*` headers, each cut to its budget.
 * No `deduplicationId`: every group's dead letter of one message must be kept.
 */
export function deadLetterMessage(input: DeadLetterInput): OutgoingMessage {
  const { original } = input;
  const failure = describeThrown(input.error);
  const headers: Record<string, string> = {};
  for (const name in original.headers) if (!BOOKKEEPING.includes(name)) headers[name] = original.headers[name] as string;
  headers[DeadLetterHeaders.topic] = original.topic;
  headers[DeadLetterHeaders.group] = input.group;
  headers[DeadLetterHeaders.attempts] = String(input.attempt);
  headers[DeadLetterHeaders.reason] = input.reason;
  headers[DeadLetterHeaders.errorName] = failure.name;
  headers[DeadLetterHeaders.errorMessage] = failure.message;
  headers[DeadLetterHeaders.errorStack] = failure.stack;
  headers[DeadLetterHeaders.firstFailureAt] = input.firstFailureAt;
  headers[DeadLetterHeaders.lastFailureAt] = input.lastFailureAt;
  return { id: original.id, topic: input.deadLetterTopic, key: original.key, body: original.body, headers };
}

/** What a redelivered message says about a dead letter still to be stored. */
export interface PendingDeadLetter {
  readonly reason: DeadLetterReason;
  readonly failures: number;
  readonly errorName: string;
  readonly errorMessage: string;
}

const REASONS: readonly string[] = ['max-attempts', 'non-retryable', 'explicit', 'undecodable', 'invalid'] satisfies DeadLetterReason[];

export function pendingDeadLetterOf(headers: Readonly<Record<string, string>>): PendingDeadLetter | undefined {
  const reason = headers[PendingDeadLetterHeaders.reason];
  if (reason === undefined || !REASONS.includes(reason)) return undefined;
  const failures = Number(headers[PendingDeadLetterHeaders.failures]);
  return {
    reason: reason as DeadLetterReason,
    failures: Number.isInteger(failures) && failures > 0 ? failures : 1,
    errorName: headers[DeadLetterHeaders.errorName] ?? 'Error',
    errorMessage: headers[DeadLetterHeaders.errorMessage] ?? '',
  };
}

/** The nack headers that mark a message as "dead letter pending" (small: the message may be near its limit). */
export function pendingDeadLetterHeaders(pending: PendingDeadLetter): Record<string, string> {
  return {
    [PendingDeadLetterHeaders.reason]: pending.reason,
    [PendingDeadLetterHeaders.failures]: String(pending.failures),
    [DeadLetterHeaders.errorName]: cutBytes(pending.errorName, 128),
    [DeadLetterHeaders.errorMessage]: cutBytes(pending.errorMessage, 256),
  };
}

/** What the `omnibus-dlq-*` headers of a dead letter say, typed. */
export interface DeadLetterInfo {
  readonly originalTopic: string;
  readonly group: string;
  readonly attempts: number;
  /** One of DeadLetterReason for core's own; any string for a reason a handler gave (`string & {}` keeps the names in completions). */
  readonly reason: DeadLetterReason | (string & {});
  readonly error: { readonly name: string; readonly message: string; readonly stack: string };
  readonly firstFailureAt: Date | undefined;
  readonly lastFailureAt: Date | undefined;
}

/**
 * Read the dead-letter headers of a message received from a dead-letter topic (they are in
 * `msg.envelope`, like every header core writes; `msg.headers` shows only the user's).
 * `undefined` when the message carries none (it was not dead-lettered by Omnibus).
 */
export function readDeadLetter(message: { readonly envelope: Readonly<Record<string, string>> }): DeadLetterInfo | undefined {
  const h = message.envelope;
  const originalTopic = h[DeadLetterHeaders.topic];
  if (originalTopic === undefined) return undefined;
  const time = (value: string | undefined) => {
    const ms = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isNaN(ms) ? undefined : new Date(ms);
  };
  return {
    originalTopic,
    group: h[DeadLetterHeaders.group] ?? '',
    attempts: Number(h[DeadLetterHeaders.attempts] ?? 0),
    reason: h[DeadLetterHeaders.reason] ?? '',
    error: { name: h[DeadLetterHeaders.errorName] ?? '', message: h[DeadLetterHeaders.errorMessage] ?? '', stack: h[DeadLetterHeaders.errorStack] ?? '' },
    firstFailureAt: time(h[DeadLetterHeaders.firstFailureAt]),
    lastFailureAt: time(h[DeadLetterHeaders.lastFailureAt]),
  };
}
