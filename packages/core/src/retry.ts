import { z } from 'zod';
import { BackoffSchema, backoffDelay, type Backoff } from './backoff.js';

/** Throw it (or a subclass) from a handler to dead-letter the message at once, without retries. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

export const RetryPolicySchema = z.strictObject({
  /** Total attempts, the first included. 1 means no retry. */
  maxAttempts: z.number().int().min(1).max(1_000).default(3),
  backoff: BackoffSchema.default({ type: 'exponential', initialDelayMs: 100, maxDelayMs: 30_000, factor: 2, jitter: true }),
  /** Return false to dead-letter at once. Called with the error and the failed attempt number. */
  retryable: z.custom<(error: unknown, attempt: number) => boolean>((value) => typeof value === 'function').optional(),
  /** Errors of these classes are dead-lettered at once (NonRetryableError always is). */
  nonRetryable: z.array(z.custom<ErrorClass>((value) => typeof value === 'function')).default([]),
});

export type RetryPolicyInput = z.input<typeof RetryPolicySchema>;
export type RetryPolicy = z.output<typeof RetryPolicySchema>;

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly reason: 'max-attempts' | 'non-retryable' };

/** What to do after `attempt` failed with `error`. */
export function decideRetry(policy: RetryPolicy, error: unknown, attempt: number, random?: () => number): RetryDecision {
  if (!isRetryable(policy, error, attempt)) return { retry: false, reason: 'non-retryable' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'max-attempts' };
  return { retry: true, delayMs: backoffDelay(policy.backoff as Backoff, attempt, random) };
}

function isRetryable(policy: RetryPolicy, error: unknown, attempt: number): boolean {
  if (error instanceof NonRetryableError) return false;
  if (policy.nonRetryable.some((errorClass) => error instanceof errorClass)) return false;
  return policy.retryable ? policy.retryable(error, attempt) : true;
}
