import type { Message } from './message.js';
import type { Delivery } from './transport.js';

/**
 * Where one delivery is in its life, as the consumer handles it:
 * - `handling`: the handler (or decoding) runs; a drain may still release it.
 * - `settling`: an outcome was chosen and is being carried out (a dead-letter publish may be
 *   awaited); nothing else may settle it now, a drain waits for it instead.
 * - `settled`: ack or nack was called; every later attempt to settle is a no-op.
 *
 * Settle-once therefore holds across every await: the first of "the handler's outcome" and
 * "the drain's release" to claim the delivery owns it until it is settled.
 */
export type InFlightState = 'handling' | 'settling' | 'settled';

export class InFlight {
  private current: InFlightState = 'handling';
  done: Promise<void> = Promise.resolve();
  /** Created on first use: most handlers never read ctx.signal, and one per delivery is measurable. */
  private controller: AbortController | undefined;
  private abortReason: Error | undefined;
  /** The message handed to middleware and handler, once decoded (for the settled hooks). */
  message: Message<unknown> | undefined;
  /** performance.now() at hand-over (settled hooks' durations, stall detection). */
  readonly startedAt = performance.now();
  constructor(readonly delivery: Delivery) {}

  get state(): InFlightState {
    return this.current;
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortReason && !this.controller.signal.aborted) this.controller.abort(this.abortReason);
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** handling → settling. False when someone else claimed it first (a drain released it). */
  claim(): boolean {
    if (this.current !== 'handling') return false;
    this.current = 'settling';
    return true;
  }

  /** → settled, calling `settle` once. A no-op when already settled. */
  settleWith(settle: (delivery: Delivery) => Promise<void>): Promise<void> {
    if (this.current === 'settled') return Promise.resolve();
    this.current = 'settled';
    try {
      return settle(this.delivery);
    } catch (error) {
      // A transport whose ack/nack throws synchronously: the same as a rejection.
      return Promise.reject(error);
    }
  }

  /** The common outcome without closures: handling → settled by ack. */
  ack(): Promise<void> {
    if (this.current !== 'handling') return Promise.resolve();
    this.current = 'settled';
    return this.delivery.ack();
  }
}
