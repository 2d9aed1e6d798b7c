import { ConfigError } from './errors.js';

/**
 * The longest delay on every transport: 24 days. It is what RabbitMQ's TTL buckets can hold
 * (x-message-ttl and x-expires stay signed 32-bit) and what one Node timer can wait, so one
 * rule holds everywhere instead of a delay being cut short on one broker.
 */
export const MAX_DELAY_MS = 24 * 24 * 3_600_000;

/**
 * The one rule for every delay a user gives (publish `delayMs`, `ctx.retry({ delayMs })`,
 * retry backoff): a finite number of milliseconds from 0 to MAX_DELAY_MS. NaN, Infinity,
 * negatives and longer delays are refused with a ConfigError instead of turning into
 * "at once", "never" or "earlier than asked" on some broker.
 */
export function assertDelayMs(value: unknown, field: string): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
    throw new ConfigError(field, `must be a finite number of milliseconds from 0 to ${MAX_DELAY_MS} (24 days), got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
}

/**
 * `deliverAt` as a delay from now: a time already past is 0 (deliver at once); a time more than
 * MAX_DELAY_MS ahead, or not a valid Date, is a ConfigError naming the field.
 */
export function delayUntil(deliverAt: unknown, field: string): number {
  if (!(deliverAt instanceof Date) || Number.isNaN(deliverAt.getTime())) {
    throw new ConfigError(field, `must be a valid Date, got ${deliverAt instanceof Date ? 'an invalid Date' : typeof deliverAt}`);
  }
  const delayMs = Math.max(0, deliverAt.getTime() - Date.now());
  if (delayMs > MAX_DELAY_MS) {
    throw new ConfigError(field, `${deliverAt.toISOString()} is more than 24 days (MAX_DELAY_MS) ahead, the longest delay every transport keeps exactly; store it and publish it later (e.g. from an outbox row with a due time)`);
  }
  return delayMs;
}
