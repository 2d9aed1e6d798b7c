import { AsyncResource } from 'node:async_hooks';
import type { TopicBound } from '../bound.js';
import { QueueFullError } from '../errors.js';
import type { Delivery, NackOptions, SubscribeParams, TransportMessage } from '../transport.js';
import { SettleOnce } from '../kit/settle-once.js';
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
  /**
   * The async context of subscribe(). A delivery is often dispatched synchronously inside a
   * publish call; without this, the handler would run in the publisher's async context (its
   * AsyncLocalStorage stores, its active OpenTelemetry span), which no real broker carries, so a
   * test on memory:// would pass where production breaks.
   */
  private readonly context = new AsyncResource('OmnibusMemoryConsumer');
  constructor(
    readonly group: MemoryGroup,
    readonly params: SubscribeParams,
  ) {}

  deliver(delivery: Delivery): void {
    this.context.runInAsyncScope(this.params.onDelivery, undefined, delivery);
  }

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
  private readonly once = new SettleOnce();
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
    if (!this.once.claim()) return false;
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
  /** Retries of this group waiting for their delay (for inspect). */
  private delayedRetries = 0;
  /** Deleted (deleteGroup): what was still on its way to it (a delayed retry) is dropped. */
  private deleted = false;
  /** Body bytes of the queued (waiting) messages, for a bound in bytes. */
  private queuedBytes = 0;

  constructor(
    readonly broker: MemoryBroker,
    readonly faults: FaultInjector | undefined,
    readonly topic: string,
  ) {}

  store(message: TransportMessage): void {
    const entry = { message, attempt: 1 };
    this.insert(entry);
    if (this.faults && this.faults.random() < this.faults.options.duplicates) this.insert(entry);
    this.trimToBound();
    this.dispatch();
  }

  /**
   * Whether one more message of `bytes` fits under the topic's bound. Like RabbitMQ's
   * x-max-length, the bound counts the group's waiting messages (stored and not handed over):
   * deliveries in flight and delayed retries do not count.
   */
  hasRoomFor(bound: TopicBound, bytes: number): boolean {
    if (bound.maxMessages !== undefined && this.queue.length + 1 > bound.maxMessages) return false;
    if (bound.maxBytes !== undefined && this.queuedBytes + bytes > bound.maxBytes) return false;
    return true;
  }

  /** A `drop-oldest` bound: discard from the head until the queue fits again. */
  private trimToBound(): void {
    const bound = this.broker.boundOf(this.topic);
    if (!bound || bound.overflow !== 'drop-oldest') return;
    const over = () => (bound.maxMessages !== undefined && this.queue.length > bound.maxMessages) || (bound.maxBytes !== undefined && this.queuedBytes > bound.maxBytes);
    while (this.queue.length > 0 && over()) this.take(0);
  }

  /** Remove the queued entry at `index`, keeping the byte count. */
  private take(index: number): Entry {
    const entry = this.queue.removeAt(index) as Entry;
    this.queuedBytes -= entry.message.body.byteLength;
    return entry;
  }

  requeue(entry: Entry, delayMs: number): void {
    if (delayMs > 0) {
      this.delayedRetries += 1;
      this.broker.later(delayMs, () => {
        this.delayedRetries -= 1;
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
        const entry = this.take(index);
        if (entry.message.key !== undefined) this.busyKeys.add(entry.message.key);
        const delivery = new MemoryDelivery(entry, consumer);
        consumer.unsettled.add(delivery);
        try {
          consumer.deliver(delivery);
        } catch (error) {
          consumer.params.onError(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** The group's figures now: stored and not handed over, handed over and not settled, delayed retries. */
  counts(): { readonly waiting: number; readonly inFlight: number; readonly delayed: number } {
    let inFlight = 0;
    for (const consumer of this.consumers) inFlight += consumer.unsettled.size;
    return { waiting: this.queue.length, inFlight, delayed: this.delayedRetries };
  }

  /** Forget everything kept for the group (its consumers are gone: deleteGroup refuses otherwise). */
  delete(): void {
    this.deleted = true;
    this.queue.clear();
    this.queuedBytes = 0;
    this.busyKeys.clear();
  }

  private insert(entry: Entry): void {
    if (this.deleted) return;
    this.queuedBytes += entry.message.body.byteLength;
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
  /** Delayed publishes not due yet, per topic (for inspect). */
  private readonly delayedPublishes = new Map<string, number>();
  /** Bounds of bounded topics, as their definitions declared them. */
  private readonly bounds = new Map<string, TopicBound>();

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
      found = new MemoryGroup(this, this.faults, topic);
      groups.set(group, found);
    }
    return found;
  }

  /** Bound a topic from now on (the latest declaration wins, as a changed broker policy would). */
  setBound(topic: string, bound: TopicBound): void {
    this.bounds.set(topic, bound);
  }

  boundOf(topic: string): TopicBound | undefined {
    return this.bounds.get(topic);
  }

  /**
   * Store a message for every group that exists now (a topic without groups keeps nothing).
   * A `reject` bound refuses it, for every group at once, when one group has no room: nothing
   * is stored. A delayed message is checked when published and stored when due.
   */
  publish(message: TransportMessage, delayMs = 0): void {
    const groups = [...(this.topics.get(message.topic)?.values() ?? [])];
    const bound = this.bounds.get(message.topic);
    if (bound?.overflow === 'reject') {
      const full = groups.find((group) => !group.hasRoomFor(bound, message.body.byteLength));
      if (full) throw new QueueFullError(message.topic, `${describeBound(bound)} waiting for a group`);
    }
    const store = () => groups.forEach((group) => group.store(message));
    if (delayMs <= 0) {
      store();
      return;
    }
    this.delayedPublishes.set(message.topic, (this.delayedPublishes.get(message.topic) ?? 0) + 1);
    this.later(delayMs, () => {
      const left = (this.delayedPublishes.get(message.topic) ?? 1) - 1;
      if (left > 0) this.delayedPublishes.set(message.topic, left);
      else this.delayedPublishes.delete(message.topic);
      store();
    });
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

  /** The groups of a topic, by name, without creating anything. */
  groupsOf(topic: string): ReadonlyMap<string, MemoryGroup> {
    return this.topics.get(topic) ?? new Map();
  }

  /** Delayed publishes of `topic` not due yet. */
  delayedPublishesOf(topic: string): number {
    return this.delayedPublishes.get(topic) ?? 0;
  }

  /** Remove a group and what it keeps; idempotent. */
  deleteGroup(topic: string, group: string): void {
    const groups = this.topics.get(topic);
    const found = groups?.get(group);
    if (!groups || !found) return;
    found.delete();
    groups.delete(group);
    if (groups.size === 0) this.topics.delete(topic);
  }

  /** Drop every pending timer (delayed messages are lost: the broker is going away). */
  dispose(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.delayedPublishes.clear();
  }
}

function describeBound(bound: TopicBound): string {
  const parts = [bound.maxMessages === undefined ? undefined : `${bound.maxMessages} messages`, bound.maxBytes === undefined ? undefined : `${bound.maxBytes} bytes`];
  return `at most ${parts.filter((p) => p !== undefined).join(' and ')}`;
}
