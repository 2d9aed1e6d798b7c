import { ConfigError } from './errors.js';

/**
 * The one rule for every delay a user gives (publish `delayMs`, `ctx.retry({ delayMs })`):
 * a finite, non-negative number of milliseconds. NaN, Infinity and negatives are refused
 * with a ConfigError instead of turning into "at once" or "never" on some broker.
 */
export function assertDelayMs(value: unknown, field: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(field, `must be a finite, non-negative number of milliseconds, got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
}
