import { describe, expect, it } from 'vitest';
import { BackoffSchema, NonRetryableError, RetryPolicySchema, backoffDelay, decideRetry, parseOptions, redactSecrets, redactUrl } from '../src/index.js';

describe('backoff', () => {
  it('grows exponentially up to the cap', () => {
    const backoff = parseOptions(BackoffSchema, { type: 'exponential', initialDelayMs: 100, maxDelayMs: 1_000, jitter: false }, 'backoff');
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(backoff, attempt))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('keeps jittered delays between half and the full delay', () => {
    const backoff = parseOptions(BackoffSchema, { type: 'fixed', delayMs: 1_000, jitter: true }, 'backoff');
    expect(backoffDelay(backoff, 1, () => 0)).toBe(500);
    expect(backoffDelay(backoff, 1, () => 0.999_999)).toBe(1_000);
  });
});

describe('retry decisions', () => {
  const policy = parseOptions(RetryPolicySchema, { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 10, jitter: false }, nonRetryable: [RangeError] }, 'retry');

  it('retries until maxAttempts, then dead-letters', () => {
    expect(decideRetry(policy, new Error('x'), 1)).toEqual({ retry: true, delayMs: 10 });
    expect(decideRetry(policy, new Error('x'), 2)).toEqual({ retry: true, delayMs: 10 });
    expect(decideRetry(policy, new Error('x'), 3)).toEqual({ retry: false, reason: 'max-attempts' });
  });

  it('never retries non-retryable errors', () => {
    expect(decideRetry(policy, new NonRetryableError('no'), 1)).toEqual({ retry: false, reason: 'non-retryable' });
    expect(decideRetry(policy, new RangeError('no'), 1)).toEqual({ retry: false, reason: 'non-retryable' });
  });

  it('defaults to 3 attempts with exponential jittered backoff', () => {
    const defaults = parseOptions(RetryPolicySchema, {}, 'retry');
    expect(defaults.maxAttempts).toBe(3);
    expect(defaults.backoff).toMatchObject({ type: 'exponential', jitter: true });
  });
});

describe('redaction', () => {
  it('hides passwords in URLs and known secrets in text', () => {
    expect(redactUrl('amqp://guest:hunter22@localhost:5672/vh')).toBe('amqp://guest:***@localhost:5672/vh');
    expect(redactUrl('nats://tok3n-value@localhost:4222')).toBe('nats://***@localhost:4222');
    // A token-only userinfo equal to the scheme hides the token, not the scheme.
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/test')).toBe('postgres://***@127.0.0.1:5432/test');
    expect(redactUrl('redis://:pw@h:1')).toBe('redis://:***@h:1');
    expect(redactSecrets('failed: connect redis://:pw-123@h:6379 with pw-123', ['pw-123'])).not.toContain('pw-123');
  });
});
