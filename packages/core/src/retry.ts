import { BackoffSchema, backoffDelay, type BackoffInput } from './backoff.js';
import { arrayOf, custom, number, optional, type OutputOf, strictObject, withDefault, withInput } from './options/rules.js';

/** Throw it (or a subclass) from a handler to dead-letter the message at once, without retries. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

export interface RetryPolicyInput {
  /** Total attempts, the first included. 1 means no retry. Default 3. */
  readonly maxAttempts?: number;
  /** Default exponential: 100 ms doubling up to 30 s, with jitter. */
  readonly backoff?: BackoffInput;
  /** Return false to dead-letter at once. Called with the error and the failed attempt number. */
  readonly retryable?: (error: unknown, attempt: number) => boolean;
  /** Errors of these classes are dead-lettered at once (NonRetryableError always is). */
  readonly nonRetryable?: readonly ErrorClass[];
}

const isFunction = (value: unknown) => typeof value === 'function';

const retryPolicyRule = strictObject({
  maxAttempts: withDefault(number({ int: true, min: 1, max: 1_000 }), 3),
  backoff: withDefault(BackoffSchema, { type: 'exponential', initialDelayMs: 100, maxDelayMs: 30_000, factor: 2, jitter: true }),
  retryable: optional(custom<(error: unknown, attempt: number) => boolean>(isFunction)),
  nonRetryable: withDefault(arrayOf(custom<ErrorClass>(isFunction)), []),
});

export type RetryPolicy = OutputOf<typeof retryPolicyRule>;

/** Checks a retry policy (a Standard Schema: `parseOptions(RetryPolicySchema, input, 'retry')`). */
export const RetryPolicySchema = withInput<RetryPolicyInput, RetryPolicy>(retryPolicyRule);

export type RetryDecision = { readonly retry: true; readonly delayMs: number } | { readonly retry: false; readonly reason: 'max-attempts' | 'non-retryable' };

/** What to do after `attempt` failed with `error`. */
export function decideRetry(policy: RetryPolicy, error: unknown, attempt: number, random?: () => number): RetryDecision {
  if (!isRetryable(policy, error, attempt)) return { retry: false, reason: 'non-retryable' };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: 'max-attempts' };
  return { retry: true, delayMs: backoffDelay(policy.backoff, attempt, random) };
}

function isRetryable(policy: RetryPolicy, error: unknown, attempt: number): boolean {
  if (error instanceof NonRetryableError) return false;
  if (policy.nonRetryable.some((errorClass) => error instanceof errorClass)) return false;
  return policy.retryable ? policy.retryable(error, attempt) : true;
}
