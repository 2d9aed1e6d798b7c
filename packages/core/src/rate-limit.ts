import { number, strictObject } from './options/rules.js';
import { Deque } from './memory/deque.js';

/** At most `messages` handler starts per `perMs`, with bursts of up to `messages` after a quiet spell. */
export interface RateLimit {
  readonly messages: number;
  readonly perMs: number;
}

export const RateLimitSchema = strictObject({
  messages: number({ int: true, min: 1, max: 1_000_000 }),
  perMs: number({ int: true, min: 1, max: 86_400_000 }),
});

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * A token bucket shared by every handler of one subscription. A delivery waits for a token
 * while it stays handed over and unsettled: nothing is acked, nacked or dropped while it
 * waits. Waiters are served in arrival order by one timer, never by polling.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private readonly waiters = new Deque<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  /** Milliseconds per token. */
  private readonly interval: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limit.messages;
    this.refilledAt = this.now();
    this.interval = limit.perMs / limit.messages;
  }

  /** Undefined when a token was free at once (no promise on the fast path); otherwise resolves in turn. */
  take(): Promise<void> | undefined {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Waiters now (for tests and stats). */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Fail every waiter (the subscription is closing: their deliveries are released, not run). */
  cancel(reason: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (let waiter = this.waiters.shift(); waiter; waiter = this.waiters.shift()) waiter.reject(reason);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.limit.messages, this.tokens + (now - this.refilledAt) / this.interval);
    this.refilledAt = now;
  }

  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return;
    const waitMs = Math.max(0, Math.ceil((1 - this.tokens) * this.interval));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.tokens >= 1 && this.waiters.length > 0) {
        this.tokens -= 1;
        this.waiters.shift()?.resolve();
      }
      this.schedule();
    }, waitMs);
  }
}
