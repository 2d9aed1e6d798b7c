import { z } from 'zod';
import { MAX_DELAY_MS } from './delay.js';

export const BackoffSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('fixed'),
    delayMs: z.number().int().min(0).max(MAX_DELAY_MS).default(1_000),
    jitter: z.boolean().default(false),
  }),
  z.strictObject({
    type: z.literal('exponential'),
    initialDelayMs: z.number().int().min(0).max(MAX_DELAY_MS).default(100),
    maxDelayMs: z.number().int().min(0).max(MAX_DELAY_MS).default(30_000),
    factor: z.number().min(1).default(2),
    jitter: z.boolean().default(true),
  }),
]);

export type BackoffInput = z.input<typeof BackoffSchema>;
export type Backoff = z.output<typeof BackoffSchema>;

/**
 * Delay before the attempt after `failedAttempt` (1-based). Jitter is "equal
 * jitter": a random delay in [d/2, d], so a retry storm spreads out but never
 * fires much sooner than asked.
 */
export function backoffDelay(backoff: Backoff, failedAttempt: number, random: () => number = Math.random): number {
  const base =
    backoff.type === 'fixed'
      ? backoff.delayMs
      : Math.min(backoff.maxDelayMs, backoff.initialDelayMs * backoff.factor ** Math.max(0, failedAttempt - 1));
  if (!backoff.jitter) return Math.round(base);
  return Math.round(base / 2 + random() * (base / 2));
}
