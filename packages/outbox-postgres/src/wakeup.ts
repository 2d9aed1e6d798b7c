/**
 * Wakes the relay loop early: a NOTIFY, close(). A wake-up while the loop is busy is kept, so
 * the next wait returns at once (a notification never falls between two batches).
 */
export class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Resolves after `ms`, or at the first wake-up (one already pending included). */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.waiter === done) this.waiter = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiter = done;
    });
  }
}
