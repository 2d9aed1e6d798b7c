import { backoffDelay, type Backoff } from '@omnibus/core';
import { isTransient } from './client.js';

/** SQS takes at most 10 entries per batch call (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch). */
export const MAX_BATCH_ENTRIES = 10;

/** What became of one entry of a batch call. */
export type EntryOutcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown; readonly retry: boolean };

/** Why an entry was given up on: the last error, and whether it was the network's or broker's momentary trouble. */
export class BatchFailure extends Error {
  constructor(
    readonly last: unknown,
    readonly transient: boolean,
    readonly deadlineReached: boolean,
  ) {
    super(last instanceof Error ? last.message : String(last));
    this.name = 'BatchFailure';
  }
}

interface Item<E> {
  readonly entry: E;
  readonly bytes: number;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: BatchFailure) => void;
  failures: number;
}

export interface BatcherSettings<E> {
  /** One batch call for up to 10 entries of one queue: an outcome per entry, in order; throws when the call as a whole failed. */
  readonly call: (queueUrl: string, entries: readonly E[]) => Promise<readonly EntryOutcome[]>;
  /** Most bytes of one call's entries together (SendMessageBatch: the broker's message size limit). */
  readonly maxBytes: number;
  readonly backoff: Backoff;
  /** A call (or entry) failed for a transient reason / a call succeeded: for health and logs. */
  readonly onTransientFailure: (error: unknown) => void;
  readonly onSuccess: () => void;
}

/**
 * Coalesces the single operations of one event-loop turn (publishes, acks, lease extensions) into
 * SQS batch calls per queue: up to 10 entries and `maxBytes` per call, never splitting an entry.
 * Each entry settles on its own outcome; a transient failure (of the call, or of the entry) is
 * retried with backoff until the entry's deadline, after which it rejects with a BatchFailure.
 */
export class Batcher<E> {
  private readonly pending = new Map<string, Item<E>[]>();
  private scheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly settings: BatcherSettings<E>) {}

  add(queueUrl: string, entry: E, deadline: number, bytes = 0): Promise<void> {
    return new Promise((resolve, reject) => {
      this.enqueue(queueUrl, { entry, bytes, deadline, resolve, reject, failures: 0 });
    });
  }

  /** Resolves once nothing is pending or in flight (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiter = () => done();
      this.idleWaiters.push(waiter);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  /** Give up on everything still waiting for a retry (the transport is closing). */
  abandon(error: unknown): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const items of this.pending.values()) for (const item of items) item.reject(new BatchFailure(error, false, false));
    this.pending.clear();
    this.checkIdle();
  }

  private get isIdle(): boolean {
    return this.pending.size === 0 && this.inFlight === 0 && this.timers.size === 0;
  }

  private enqueue(queueUrl: string, item: Item<E>): void {
    let items = this.pending.get(queueUrl);
    if (!items) this.pending.set(queueUrl, (items = []));
    items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const all = [...this.pending];
    this.pending.clear();
    for (const [queueUrl, items] of all) {
      let chunk: Item<E>[] = [];
      let bytes = 0;
      for (const item of items) {
        if (chunk.length === MAX_BATCH_ENTRIES || (chunk.length > 0 && bytes + item.bytes > this.settings.maxBytes)) {
          void this.send(queueUrl, chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(item);
        bytes += item.bytes;
      }
      if (chunk.length > 0) void this.send(queueUrl, chunk);
    }
  }

  private async send(queueUrl: string, chunk: Item<E>[]): Promise<void> {
    this.inFlight += 1;
    try {
      let outcomes: readonly EntryOutcome[];
      try {
        outcomes = await this.settings.call(
          queueUrl,
          chunk.map((item) => item.entry),
        );
      } catch (error) {
        const transient = isTransient(error);
        if (transient) this.settings.onTransientFailure(error);
        for (const item of chunk) this.failed(queueUrl, item, error, transient);
        return;
      }
      this.settings.onSuccess();
      chunk.forEach((item, index) => {
        const outcome = outcomes[index] ?? { ok: false, error: new Error('no outcome for the entry'), retry: true };
        if (outcome.ok) item.resolve();
        else this.failed(queueUrl, item, outcome.error, outcome.retry);
      });
    } finally {
      this.inFlight -= 1;
      this.checkIdle();
    }
  }

  private failed(queueUrl: string, item: Item<E>, error: unknown, retry: boolean): void {
    if (!retry) return item.reject(new BatchFailure(error, false, false));
    item.failures += 1;
    const wait = backoffDelay(this.settings.backoff, item.failures);
    if (Date.now() + wait >= item.deadline) return item.reject(new BatchFailure(error, true, true));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue(queueUrl, item);
    }, wait);
    this.timers.add(timer);
  }

  private checkIdle(): void {
    if (!this.isIdle) return;
    const waiters = this.idleWaiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
