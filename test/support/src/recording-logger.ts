// A Logger that records every entry, so tests can look at what a transport logged and await an entry
// instead of sleeping.
import { Signal, type Logger } from '@omnibus/core';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

export interface RecordingLogger extends Logger {
  /** Every entry so far, oldest first (a test may empty it: `entries.length = 0`). */
  readonly entries: LogEntry[];
  /** Every entry as a line; errors in the fields show their name, message and cause. */
  text(): string;
  /** How many entries' messages match `pattern`. */
  count(pattern: RegExp): number;
  /**
   * Resolves with the `count`-th entry (default: the first) whose message matches `match`, or for
   * which `match` returns true; rejects with a TimeoutError naming `what` after `timeoutMs` (20 s).
   */
  waitFor(match: RegExp | ((entry: LogEntry) => boolean), timeoutMs?: number, options?: { count?: number; what?: string }): Promise<LogEntry>;
}

export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const signal = new Signal();
  const at =
    (level: LogEntry['level']) =>
    (fieldsOrMessage: Record<string, unknown> | string, message?: string): void => {
      entries.push(typeof fieldsOrMessage === 'string' ? { level, message: fieldsOrMessage, fields: {} } : { level, message: message ?? '', fields: fieldsOrMessage });
      signal.notify();
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () =>
      entries
        .map((e) => `${e.level} ${e.message} ${JSON.stringify(e.fields, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message, cause: v.cause } : v))}`)
        .join('\n'),
    count: (pattern) => entries.filter((e) => pattern.test(e.message)).length,
    async waitFor(match, timeoutMs = 20_000, { count = 1, what } = {}) {
      const matches = typeof match === 'function' ? match : (e: LogEntry) => match.test(e.message);
      const matching = () => entries.filter(matches);
      const description = what ?? (typeof match === 'function' ? 'a matching log entry' : `${count} log entries matching ${match}`);
      await signal.until(() => matching().length >= count, timeoutMs, () => `${description} (got ${matching().length})`);
      return matching()[count - 1] as LogEntry;
    },
  };
}
