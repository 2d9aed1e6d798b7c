// A Logger that keeps the transports' warnings and errors of one scenario, to print when it fails
// (and to count reconnects and similar events in the summary).
import type { LogFn, Logger } from '@omnibus/core';

const MAX_LINES = 300;

export class LogCollector {
  private readonly lines: string[] = [];
  private readonly counts = { warn: 0, error: 0 };

  logger(label: string): Logger {
    const fn =
      (level: 'warn' | 'error'): LogFn =>
      (fields: Record<string, unknown> | string, message?: string) => {
        this.counts[level] += 1;
        const text = typeof fields === 'string' ? fields : `${message ?? ''} ${safeJson(fields)}`;
        this.lines.push(`${new Date().toISOString().slice(11, 23)} ${level} [${label}] ${text}`);
        if (this.lines.length > MAX_LINES) this.lines.shift();
      };
    const ignore: LogFn = () => {};
    return { debug: ignore, info: ignore, warn: fn('warn'), error: fn('error') };
  }

  get warnings(): number {
    return this.counts.warn;
  }

  get errors(): number {
    return this.counts.error;
  }

  tail(count = 40): string {
    return this.lines.slice(-count).join('\n');
  }

  clear(): void {
    this.lines.length = 0;
    this.counts.warn = 0;
    this.counts.error = 0;
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v));
  } catch {
    return String(value);
  }
}
