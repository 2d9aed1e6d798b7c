import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** Scheduled entries moved per script run (a full batch triggers another run at once). */
const BATCH = 100;

/**
 * Moves due scheduled entries (delayed publishes and delayed redeliveries) to their
 * streams. Every transport that consumes or scheduled something runs one; they share
 * the one scheduled set and the move script is atomic, so any of them can move any
 * entry, and an entry whose publisher died is still moved by the others.
 *
 * It sleeps until the next due entry (as the script reports it), at most
 * `intervalMs` (entries scheduled by other processes are seen within that time).
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private running = false;
  private rerun = false;
  private active = false;
  private stopped = false;
  /** Report a failure once, not on every poll while Redis is away. */
  private failing = false;

  constructor(
    private readonly client: ScriptedRedis,
    private readonly keys: Keys,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Start moving (idempotent). */
  activate(): void {
    if (this.active || this.stopped) return;
    this.active = true;
    this.wake(0);
  }

  /** Something was scheduled `delayMs` from now: look again no later than then. */
  poke(delayMs: number): void {
    this.activate();
    this.wake(Math.max(0, delayMs));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private wake(inMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + inMs;
    if (this.timer && at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => void this.run(), inMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = true;
    let next = this.intervalMs;
    try {
      const [moved, waitMs] = await this.client.omnibusMoveDue(this.keys.scheduled, this.keys.invalidScheduled, BATCH);
      if (moved >= BATCH) next = 0;
      else if (waitMs >= 0) next = Math.min(waitMs, this.intervalMs);
      this.failing = false;
    } catch (error) {
      if (!this.stopped && !this.failing) this.onError(error);
      this.failing = true;
    } finally {
      this.running = false;
    }
    if (this.rerun) {
      this.rerun = false;
      next = 0;
    }
    this.wake(next);
  }
}
