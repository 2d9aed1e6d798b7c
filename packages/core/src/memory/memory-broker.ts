import type { Delivery, NackOptions, SubscribeParams, TransportMessage } from '../transport.js';
import { Deque } from './deque.js';
import type { FaultOptions } from './faults.js';

/** The longest wait one Node timer keeps (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  readonly message: TransportMessage;
  readonly attempt: number;
}

/** Fault decisions, made by the broker from its seeded random source. */
export interface FaultInjector {
  readonly options: FaultOptions;
  readonly random: () => number;
}

/**
 * A consumer attached to a group. It holds at most `concurrency` unsettled deliveries.
 */
export class MemoryConsumer {
  readonly unsettled = new Set<MemoryDelivery>();
  stopped = false;
  constructor(
    readonly group: MemoryGroup,
    readonly params: SubscribeParams,
  ) {}

  get hasCapacity(): boolean {
    return !this.stopped && this.unsettled.size < this.params.concurrency;
  }

  /** Detach; unsettled deliveries go back to the group (as a broker does when a consumer disconnects). */
  detach(): void {
    this.stopped = true;
    this.group.consumers.delete(this);
    for (const delivery of [...this.unsettled]) void delivery.nack();
  }
}

class MemoryDelivery implements Delivery {
  private settled = false;
  constructor(
    private readonly entry: Entry,
    private readonly consumer: MemoryConsumer,
  ) {}

  get message(): TransportMessage {
    return this.entry.message;
  }

  get attempt(): number {
    return this.entry.attempt;
  }

  async ack(): Promise<void> {
    if (!this.settle()) return;
    const faults = this.consumer.group.faults;
    if (faults && faults.random() < faults.options.redeliveries) {
      this.consumer.group.requeue({ message: this.entry.message, attempt: this.entry.attempt + 1 }, 0);
    }
  }

  async nack(options: NackOptions = {}): Promise<void> {
    if (!this.settle()) return;
    const message = options.headers ? { ...this.entry.message, headers: { ...this.entry.message.headers, ...options.headers } } : this.entry.message;
    this.consumer.group.requeue({ message, attempt: this.entry.attempt + 1 }, options.delayMs ?? 0);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.consumer.unsettled.delete(this);
    this.consumer.group.releaseKey(this.entry.message.key);
    queueMicrotask(() => this.consumer.group.dispatch());
    return true;
  }
}

/** A durable group: its own queue of the topic's messages, shared by competing consumers. */
export class MemoryGroup {
  readonly consumers = new Set<MemoryConsumer>();
  private readonly queue = new Deque<Entry>();
  /** Keys with a delivery in flight: the next message of a key waits for the previous one. */
  private readonly busyKeys = new Set<string>();
  private cursor = 0;
  private dispatching = false;

  constructor(
    readonly broker: MemoryBroker,
    readonly faults: FaultInjector | undefined,
  ) {}

  store(message: TransportMessage): void {
    const entry = { message, attempt: 1 };
    this.insert(entry);
    if (this.faults && this.faults.random() < this.faults.options.duplicates) this.insert(entry);
    this.dispatch();
  }

  requeue(entry: Entry, delayMs: number): void {
    if (delayMs > 0) {
      this.broker.later(delayMs, () => {
        this.insert(entry);
        this.dispatch();
      });
      return;
    }
    this.insert(entry);
    this.dispatch();
  }

  releaseKey(key: string | undefined): void {
    if (key !== undefined) this.busyKeys.delete(key);
  }

  /** Hand queued messages to consumers with capacity, round-robin, keeping per-key order. */
  dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (;;) {
        const consumer = this.nextConsumer();
        if (!consumer) return;
        const index = this.nextDeliverable();
        if (index === -1) return;
        const entry = this.queue.removeAt(index) as Entry;
        if (entry.message.key !== undefined) this.busyKeys.add(entry.message.key);
        const delivery = new MemoryDelivery(entry, consumer);
        consumer.unsettled.add(delivery);
        try {
          consumer.params.onDelivery(delivery);
        } catch (error) {
          consumer.params.onError(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  private insert(entry: Entry): void {
    if (this.faults?.options.reorder) this.queue.insertAt(Math.floor(this.faults.random() * (this.queue.length + 1)), entry);
    else this.queue.push(entry);
  }

  private nextConsumer(): MemoryConsumer | undefined {
    const consumers = [...this.consumers];
    for (let i = 0; i < consumers.length; i += 1) {
      const consumer = consumers[(this.cursor + i) % consumers.length];
      if (consumer?.hasCapacity) {
        this.cursor = (this.cursor + i + 1) % consumers.length;
        return consumer;
      }
    }
    return undefined;
  }

  private nextDeliverable(): number {
    for (let i = 0; i < this.queue.length; i += 1) {
      const key = this.queue.at(i)?.message.key;
      if (key === undefined || !this.busyKeys.has(key)) return i;
    }
    return -1;
  }
}

/**
 * The in-process broker behind `memory://`: topics, durable groups and delayed
 * messages for the lifetime of the process. Several transports (buses) share one
 * broker by passing it explicitly; nothing is registered globally.
 */
export class MemoryBroker {
  private readonly topics = new Map<string, Map<string, MemoryGroup>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faults: FaultInjector | undefined;

  constructor(faults?: FaultInjector) {
    this.faults = faults;
  }

  group(topic: string, group: string): MemoryGroup {
    let groups = this.topics.get(topic);
    if (!groups) {
      groups = new Map();
      this.topics.set(topic, groups);
    }
    let found = groups.get(group);
    if (!found) {
      found = new MemoryGroup(this, this.faults);
      groups.set(group, found);
    }
    return found;
  }

  /** Store a message for every group that exists now (a topic without groups keeps nothing). */
  publish(message: TransportMessage, delayMs = 0): void {
    const groups = [...(this.topics.get(message.topic)?.values() ?? [])];
    const store = () => groups.forEach((group) => group.store(message));
    if (delayMs > 0) this.later(delayMs, store);
    else store();
  }

  /**
   * Run `run` after `delayMs`. Node fires a timer of 2^31 ms or more after 1 ms (with a warning), so
   * a longer wait is a chain of timers of at most MAX_TIMER_MS each.
   */
  later(delayMs: number, run: () => void): void {
    const step = Math.min(delayMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (delayMs > step) this.later(delayMs - step, run);
      else run();
    }, step);
    timer.unref();
    this.timers.add(timer);
  }

  /** Drop every pending timer (delayed messages are lost: the broker is going away). */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
