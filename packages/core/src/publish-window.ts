/**
 * A bound on the messages a bus has handed to its transport and not yet seen accepted,
 * across every publish call. A burst of unawaited publishes waits here, in call order,
 * before anything is encoded, so memory stays bounded by the window and not by the burst.
 *
 * A batch larger than the window takes the whole window (it waits until nothing else is
 * in flight), so a batch is never split and never waits forever.
 */
export class PublishWindow {
  private inFlight = 0;
  /** Waiters in call order; `head` is the next one (a queue without O(n) shifts). */
  private waiting: { readonly count: number; readonly wake: () => void }[] = [];
  // A waiter is two fields and the caller's callback: a burst of 200,000 unawaited publishes
  // waits in a few hundred bytes each, instead of a suspended async call each.
  private head = 0;

  constructor(readonly size: number) {}

  /** Take room for `count` messages now, if there is room and nobody waits before us. */
  tryAcquire(count: number): boolean {
    const need = Math.min(count, this.size);
    if (this.head !== this.waiting.length || this.inFlight + need > this.size) return false;
    this.inFlight += need;
    return true;
  }

  /** Wait for room for `count` messages: `wake` is called, in call order, once the room is taken for it. */
  enqueue(count: number, wake: () => void): void {
    this.waiting.push({ count: Math.min(count, this.size), wake });
  }

  /** Give back what `tryAcquire` or `enqueue` took for `count` messages. */
  release(count: number): void {
    this.inFlight -= Math.min(count, this.size);
    while (this.head < this.waiting.length) {
      const next = this.waiting[this.head] as { count: number; wake: () => void };
      if (this.inFlight + next.count > this.size) break;
      this.head += 1;
      this.inFlight += next.count;
      next.wake();
    }
    // Drop woken waiters once they are most of the array, so it does not grow for ever.
    if (this.head > 1_024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }
}
