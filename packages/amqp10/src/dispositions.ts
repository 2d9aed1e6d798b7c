import type { Delivery as RheaDelivery } from 'rhea';

/** The outcomes a consumer sends, each one kind of disposition state. */
export type Outcome = 'accepted' | 'released' | 'failed';

/**
 * Keeps the dispositions of one tick to one outcome.
 *
 * rhea (3.0.5) writes the dispositions of a tick as ranges of consecutive delivery ids, and its
 * merge compares outcomes only once a range holds two deliveries: a range of one absorbs the next
 * delivery whatever its outcome. An accept of delivery 4 and a Modified of delivery 5 in one tick
 * went out as "4..5 accepted" (seen on the wire: a nacked message was acked and never came back).
 * rhea flushes on process.nextTick after the first settle of a tick; so the first outcome of a tick
 * is applied at once, and others wait for the next tick (after rhea's flush), where the same rule holds.
 */
export class DispositionGate {
  private current: Outcome | undefined;
  private deferred: { readonly outcome: Outcome; readonly apply: () => void }[] = [];
  private idleWaiters: (() => void)[] = [];

  settle(delivery: RheaDelivery, outcome: Outcome): void {
    this.run(outcome, () => apply(delivery, outcome));
  }

  private run(outcome: Outcome, fn: () => void): void {
    if (this.current !== undefined && this.current !== outcome) {
      this.deferred.push({ outcome, apply: fn });
      return;
    }
    const first = this.current === undefined;
    this.current = outcome;
    fn();
    // Registered after the settle, so it runs after the flush rhea registered for it.
    if (first) process.nextTick(() => this.nextTick());
  }

  /** Resolves once every settle so far was handed to rhea and a flush of it has run (before a detach). */
  idle(): Promise<void> {
    if (this.current === undefined) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private nextTick(): void {
    this.current = undefined;
    const deferred = this.deferred;
    this.deferred = [];
    for (const { outcome, apply: fn } of deferred) this.run(outcome, fn);
    if (this.current === undefined) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

function apply(delivery: RheaDelivery, outcome: Outcome): void {
  if (outcome === 'accepted') delivery.accept();
  else if (outcome === 'released') delivery.release();
  else delivery.modified({ delivery_failed: true });
}
