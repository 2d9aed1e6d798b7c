import { MAX_DELAY_MS } from './delay.js';
import { boolean, discriminated, literal, number, type OutputOf, strictObject, withDefault, withInput } from './options/rules.js';

const delay = number({ int: true, min: 0, max: MAX_DELAY_MS });

/** Backoff as a user writes it: every field but `type` has a default. */
export type BackoffInput =
  | { readonly type: 'fixed'; readonly delayMs?: number; readonly jitter?: boolean }
  | { readonly type: 'exponential'; readonly initialDelayMs?: number; readonly maxDelayMs?: number; readonly factor?: number; readonly jitter?: boolean };

const backoffRule = discriminated('type', {
  fixed: strictObject({
    type: literal('fixed'),
    delayMs: withDefault(delay, 1_000),
    jitter: withDefault(boolean, false),
  }),
  exponential: strictObject({
    type: literal('exponential'),
    initialDelayMs: withDefault(delay, 100),
    maxDelayMs: withDefault(delay, 30_000),
    factor: withDefault(number({ min: 1 }), 2),
    jitter: withDefault(boolean, true),
  }),
});

export type Backoff = OutputOf<typeof backoffRule>;

/** Checks a backoff (a Standard Schema: `parseOptions(BackoffSchema, input, 'backoff')`). */
export const BackoffSchema = withInput<BackoffInput, Backoff>(backoffRule);

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
