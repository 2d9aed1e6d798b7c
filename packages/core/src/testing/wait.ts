import { TimeoutError } from '../errors.js';

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
}

/**
 * Condition waiting without sleeps: whoever changes state calls `notify()`, and
 * every waiter whose condition now holds resolves. A waiter that is not satisfied
 * in time rejects with a TimeoutError saying what it waited for.
 */
export class Signal {
  private readonly waiters = new Set<Waiter>();

  notify(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.check()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new TimeoutError(`timed out after ${timeoutMs} ms waiting for ${what()}`));
      }, timeoutMs);
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(waiter);
    });
  }
}
