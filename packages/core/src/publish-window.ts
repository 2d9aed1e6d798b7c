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
  private readonly waiting: { readonly count: number; readonly wake: () => void }[] = [];

  constructor(readonly size: number) {}

  /** Resolves when `count` messages may be sent; `undefined` when they may be sent at once (no promise). */
  acquire(count: number): Promise<void> | undefined {
    const need = Math.min(count, this.size);
    if (this.waiting.length === 0 && this.inFlight + need <= this.size) {
      this.inFlight += need;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push({ count: need, wake: resolve });
    });
  }

  /** Give back what `acquire(count)` took. */
  release(count: number): void {
    this.inFlight -= Math.min(count, this.size);
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as { count: number; wake: () => void };
      if (this.inFlight + next.count > this.size) break;
      this.waiting.shift();
      this.inFlight += next.count;
      next.wake();
    }
  }
}
