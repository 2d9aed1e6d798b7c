import { ConfigError } from '@omnibus/core';

/**
 * Longest delay the transport schedules: 100 years. Anything longer is a bug rather than a
 * plan, and below it every due time (Redis clock + delay) is an exact integer score in the
 * scheduled set, so every accepted delay comes due.
 */
export const MAX_DELAY_MS = 100 * 365.25 * 24 * 3_600_000;

/**
 * The delay to schedule, in whole milliseconds (0: at once), for a `delayMs` given to publish
 * or nack. Anything but a finite number from 0 to MAX_DELAY_MS is a ConfigError naming `field`:
 * Infinity would park a message in the scheduled set for ever, NaN and negatives would
 * silently mean "at once".
 */
export function scheduledDelay(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_DELAY_MS) {
    const got = typeof value === 'number' ? String(value) : typeof value;
    throw new ConfigError(field, `must be a finite number of milliseconds from 0 to ${MAX_DELAY_MS} (100 years), got ${got}`);
  }
  return Math.ceil(value);
}
