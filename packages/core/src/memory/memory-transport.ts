import { ClosedError, ConfigError } from '../errors.js';
import type { TopicSettings } from '../bound.js';
import type { TransportHealth } from '../health.js';
import type { GroupInspection, TransportInspection } from '../inspection.js';
import type { BrokerInfo, Transport, TransportCapabilities, TransportInit, TransportSubscription, SubscribeParams, OutgoingMessage } from '../transport.js';
import { instanceOf, numberFromText, oneOf, optional, rule, strictObject, unknown } from '../options/rules.js';
import { parseOptions } from '../validate.js';
import { FaultOptionsSchema, seededRandom, type FaultOptionsInput } from './faults.js';
import { MemoryBroker, MemoryConsumer } from './memory-broker.js';

export const memoryCapabilities: TransportCapabilities = {
  delayedPublish: 'native',
  delayedRedelivery: 'native',
  redeliveryHeaders: true,
  orderingByKey: true,
  persistence: false,
  maxMessageBytes: 16 * 1024 * 1024,
  boundedTopics: { reject: 'native', dropOldest: 'native', maxBytes: true },
};

export interface MemoryTransportOptions {
  /** Share one broker between several transports (e.g. a producer bus and a worker bus). */
  readonly broker?: MemoryBroker;
  /** Seeded fault injection (ignored when `broker` is given: faults belong to the broker). */
  readonly faults?: FaultOptionsInput;
}

// Unknown parameters are refused: `memory://?dupes=0.1` must not quietly turn fault injection off.
const trueOrFalse = oneOf(['true', 'false']);
const QueryFaultsSchema = strictObject({
  seed: optional(numberFromText({ int: true })),
  duplicates: optional(numberFromText()),
  redeliveries: optional(numberFromText()),
  reorder: optional(rule((value, path, issues) => trueOrFalse.check(value, path, issues) === 'true')),
});

// Unknown options are refused as on every other transport (a typo must not silently do nothing).
const MemoryOptionsSchema = strictObject({
  broker: optional(instanceOf(MemoryBroker)),
  faults: optional(unknown),
});

/** Create a broker, with seeded faults if asked. */
export function createMemoryBroker(faults?: FaultOptionsInput, field = 'options.faults'): MemoryBroker {
  if (!faults) return new MemoryBroker();
  const options = parseOptions(FaultOptionsSchema, faults, field);
  return new MemoryBroker({ options, random: seededRandom(options.seed) });
}

/**
 * `memory://` — the embedded transport. Faults can come from the URL:
 * `memory://?seed=7&duplicates=0.1&redeliveries=0.05&reorder=true`.
 */
export function createMemoryTransport(init?: Partial<TransportInit> & { options?: MemoryTransportOptions }): Transport {
  const options = parseOptions(MemoryOptionsSchema, init?.options ?? {}, 'options') as MemoryTransportOptions;
  if (options.broker) return new MemoryTransport(options.broker, false);
  if (options.faults) return new MemoryTransport(createMemoryBroker(options.faults), true);
  const query = Object.fromEntries(new URL((init?.url ?? 'memory://').replace(/^memory:\/\//, 'http://memory/')).searchParams);
  if (Object.keys(query).length === 0) return new MemoryTransport(new MemoryBroker(), true);
  const parsed = parseOptions(QueryFaultsSchema, query, 'url');
  const faults = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined));
  return new MemoryTransport(createMemoryBroker(faults, 'url'), true);
}

class MemoryTransport implements Transport {
  readonly name = 'memory';
  readonly capabilities = memoryCapabilities;
  private readonly consumers = new Set<MemoryConsumer>();
  private closed = false;
  /** memory:// is connected from creation to close: there is no connection to lose. */
  private readonly openedAt = new Date();
  private closedAt: Date | undefined;

  constructor(
    private readonly broker: MemoryBroker,
    private readonly ownsBroker: boolean,
  ) {}

  async connect(): Promise<void> {
    this.assertOpen();
  }

  async declareTopic(topic: string, settings: TopicSettings): Promise<void> {
    this.assertOpen();
    if (settings.bound) this.broker.setBound(topic, settings.bound);
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    for (const { delayMs, ...message } of messages) {
      // Copy the bytes: the publisher may reuse its buffer.
      this.broker.publish({ ...message, headers: { ...message.headers }, body: message.body.slice() }, delayMs ?? 0);
    }
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    this.broker.group(topic, group);
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    this.assertOpen();
    const group = this.broker.group(params.topic, params.group);
    const consumer = new MemoryConsumer(group, params);
    group.consumers.add(consumer);
    this.consumers.add(consumer);
    queueMicrotask(() => group.dispatch());
    return {
      stop: async () => {
        consumer.stopped = true;
      },
      close: async () => {
        consumer.detach();
        this.consumers.delete(consumer);
        group.dispatch();
      },
    };
  }

  /** Exact figures, read at one instant (the broker is in this process). */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.assertOpen();
    const known = this.broker.groupsOf(topic);
    const names = group === undefined ? [...known.keys()] : [group];
    const groups = names.map((name): GroupInspection => {
      const counts = known.get(name)?.counts() ?? { waiting: 0, inFlight: 0, delayed: 0 };
      return {
        group: name,
        waiting: { value: counts.waiting, exact: true },
        inFlight: { value: counts.inFlight, exact: true },
        delayed: { value: counts.delayed, exact: true },
        // Behind the end of the topic: what was stored for the group and is not settled yet.
        lag: { value: counts.waiting + counts.inFlight, exact: true },
      };
    });
    return { topic, readAt: new Date(), delayed: { value: this.broker.delayedPublishesOf(topic), exact: true }, groups };
  }

  /** Remove a group and everything kept for it (queued messages, delayed retries); idempotent. */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    const found = this.broker.groupsOf(topic).get(group);
    if (found && found.consumers.size > 0) {
      throw new ConfigError('group', `group "${group}" of topic "${topic}" still has a subscription: close it before deleting the group`);
    }
    this.broker.deleteGroup(topic, group);
  }

  async brokerInfo(): Promise<BrokerInfo> {
    return { product: 'Omnibus memory broker (in this process)', version: undefined };
  }

  health(): TransportHealth {
    return this.closedAt ? { state: 'closed', since: this.closedAt } : { state: 'connected', since: this.openedAt };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = new Date();
    for (const consumer of this.consumers) {
      consumer.detach();
      consumer.group.dispatch();
    }
    this.consumers.clear();
    if (this.ownsBroker) this.broker.dispose();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('the memory transport is closed');
  }
}
