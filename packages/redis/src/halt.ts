/** What `Halt.race` gives instead of the command's reply once the halt came first. */
export const HALTED = Symbol('halted');

/**
 * A one-way stop switch that commands in flight can be abandoned on (a subscription's stop()).
 *
 * Not `Promise.race([command, halted])` on one long-lived `halted` promise: every such race
 * adds a reaction to `halted` that holds the race's own promise, and with it the command's
 * reply, until `halted` settles. A read loop racing each XREADGROUP that way kept every reply
 * it ever read (the Buffers of every entry) reachable until stop(): 200,000 read 1 KiB entries
 * held about 430 MB. Here each race registers one callback and removes it as soon as the
 * command settles, so nothing outlives its command.
 */
export class Halt {
  private readonly waiting = new Set<() => void>();
  private halted = false;

  /** Races that wait now (their command has not settled and the halt has not come). */
  get pending(): number {
    return this.waiting.size;
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** Halt: every race waiting now, and every later one, resolves with HALTED. Idempotent. */
  trigger(): void {
    if (this.halted) return;
    this.halted = true;
    const waiting = [...this.waiting];
    this.waiting.clear();
    for (const halt of waiting) halt();
  }

  /** The command's reply (or its rejection), or HALTED if the halt comes first. */
  race<T>(command: Promise<T>): Promise<T | typeof HALTED> {
    if (this.halted) {
      // The command still settles later: its rejection must not be unhandled.
      command.catch(() => {});
      return Promise.resolve(HALTED);
    }
    return new Promise<T | typeof HALTED>((resolve, reject) => {
      const halt = () => resolve(HALTED);
      this.waiting.add(halt);
      command.then(
        (reply) => {
          this.waiting.delete(halt);
          resolve(reply);
        },
        (error: unknown) => {
          this.waiting.delete(halt);
          reject(error);
        },
      );
    });
  }
}
