import type { SubscribeParams } from '@omnibus/core';
import { KafkaDelivery, type DeliveryOwner } from './delivery.js';
import type { Entry, PartitionState } from './partition.js';

const MAX_TIMER_MS = 3_600_000;

export interface DispatcherDeps {
  readonly params: Pick<SubscribeParams, 'concurrency' | 'onDelivery' | 'onError'>;
  readonly bufferSize: number;
  /** What the deliveries report their settlement to. */
  readonly owner: DeliveryOwner;
  /** Hand-overs may happen: the subscription runs and the group has an assignment. */
  isOpen(): boolean;
  /** The held partitions, in assignment order. */
  partitions(): readonly PartitionState[];
  /** Fetch a partition whose buffer drained enough. */
  resume(state: PartitionState): void;
  /** The delivery frontier moved: record it (commit metadata) for the attempt count of a next owner. */
  handedOver(): void;
}

/**
 * Between the partition buffers and the handler: up to `concurrency` deliveries are
 * unsettled at once, taken round-robin from the partitions; a key has at most one
 * delivery in flight, so its order holds. Delay and retry messages wait in their buffer
 * until due (a timer, never a sleep in the fetch loop).
 */
export class Dispatcher {
  private cursor = 0;
  private readonly busyKeys = new Set<string>();
  private readonly inFlight = new Set<KafkaDelivery>();
  private dispatching = false;
  private redispatch = false;
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Hand over what may be handed over now (re-entrant calls run once more after the current one). */
  dispatch(): void {
    if (this.dispatching) {
      this.redispatch = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.redispatch = false;
        this.dispatchOnce();
      } while (this.redispatch);
    } finally {
      this.dispatching = false;
    }
  }

  /** A settled (or stale) delivery frees its slot and its key. */
  release(delivery: KafkaDelivery): void {
    if (!this.inFlight.delete(delivery)) return;
    const key = delivery.entry.message.key;
    if (key !== undefined) this.busyKeys.delete(key);
    this.dispatch();
  }

  /** No wake-up for due messages (the subscription stopped). */
  stopTimer(): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  /** Forget every delivery in flight (the subscription closed: settling them does nothing). */
  clear(): void {
    this.inFlight.clear();
    this.busyKeys.clear();
  }

  private dispatchOnce(): void {
    const { deps } = this;
    if (!deps.isOpen()) return;
    const now = Date.now();
    const { concurrency } = deps.params;
    // Re-checked per hand-over: onDelivery may stop the subscription.
    while (deps.isOpen() && this.inFlight.size < concurrency && deps.partitions().length > 0) {
      const order = deps.partitions();
      let handed = false;
      for (let i = 0; i < order.length; i += 1) {
        const index = (this.cursor + i) % order.length;
        const state = order[index] as PartitionState;
        const entry = state.take(now, this.busyKeys);
        if (!entry) continue;
        this.cursor = (index + 1) % order.length;
        this.resumeIfDrained(state);
        this.handOver(state, entry);
        handed = true;
        break;
      }
      if (!handed) break;
    }
    if (deps.isOpen()) this.armDueTimer(now);
  }

  private handOver(state: PartitionState, entry: Entry): void {
    const delivery = new KafkaDelivery(this.deps.owner, state, entry);
    this.inFlight.add(delivery);
    if (entry.message.key !== undefined) this.busyKeys.add(entry.message.key);
    state.markHanded(entry.offset);
    this.deps.handedOver();
    try {
      this.deps.params.onDelivery(delivery);
    } catch (error) {
      this.deps.params.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Only while open (so not stopped): a stopped subscription keeps every partition paused. */
  private resumeIfDrained(state: PartitionState): void {
    if (state.paused && state.buffered <= this.deps.bufferSize / 2) {
      state.paused = false;
      this.deps.resume(state);
    }
  }

  /** Wake up when the earliest waiting delay/retry message is due. */
  private armDueTimer(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const state of this.deps.partitions()) {
      const due = state.nextDueAfter(now);
      if (due !== undefined && due < next) next = due;
    }
    if (next === this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.dispatch();
      // Capped: Node fires longer timeouts at once. Waking early only re-arms.
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())));
    this.dueTimer.unref();
  }
}
