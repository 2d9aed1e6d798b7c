/**
 * Settle-once for a transport's delivery: the first of ack, nack or release wins, every later
 * call resolves without effect (Delivery's contract in transport.ts). One small state type, so
 * each transport stops writing its own `settled`/`released` flags.
 */
export type SettleState = 'open' | 'settled';

export class SettleOnce {
  private current: SettleState = 'open';

  get state(): SettleState {
    return this.current;
  }

  /** True once ack, nack or release was called (even if the broker has not answered yet). */
  get done(): boolean {
    return this.current !== 'open';
  }

  /**
   * Run `settle` if nothing settled this delivery yet; otherwise resolve at once without effect.
   * A synchronous throw is a rejection. The delivery counts as settled from the first call on,
   * whether `settle` succeeds or not: a failed ack is the broker's to redeliver, never retried here.
   */
  run(settle: () => Promise<void>): Promise<void> {
    if (this.current !== 'open') return Promise.resolve();
    // Settled from the call on (no promise of its own: an ack is the hot path).
    this.current = 'settled';
    try {
      return settle();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Take the one right to settle, synchronously: true for the first caller, false for every later
   * one. For settlements that are not a promise (a publish confirm, an in-process queue).
   */
  claim(): boolean {
    if (this.current !== 'open') return false;
    this.current = 'settled';
    return true;
  }

  /** Mark settled without running anything (the connection carrying the delivery is gone). */
  abandon(): void {
    this.current = 'settled';
  }
}
