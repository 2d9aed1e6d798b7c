import type { Backoff } from '../backoff.js';

/**
 * `promise`, or a rejection with `onTimeout()` after `timeoutMs`, whichever comes first. The timer
 * is cleared either way and never keeps the process alive; the losing promise's rejection is
 * absorbed (it has nobody left to tell).
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
    timer.unref();
  });
  promise.catch(() => {});
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Wait `ms`, or less when `signal` aborts (resolves either way: the caller checks why it woke). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * The Backoff of a reconnect or retry loop (use with core's `backoffDelay(backoff, failures)`):
 * exponential from `initialDelayMs` to `maxDelayMs`, doubling, without jitter unless asked.
 */
export function exponentialBackoff(initialDelayMs: number, maxDelayMs: number, options: { readonly jitter?: boolean; readonly factor?: number } = {}): Backoff {
  return { type: 'exponential', initialDelayMs, maxDelayMs, factor: options.factor ?? 2, jitter: options.jitter ?? false };
}
