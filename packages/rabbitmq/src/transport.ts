import {
  assertBoundSupported,
  ClosedError,
  ConfigError,
  PublishError,
  assertConcurrency,
  isOmnibusError,
  type Logger,
  type OutgoingMessage,
  type SubscribeParams,
  type Transport,
  type TransportCapabilities,
  type BrokerInfo,
  type TransportHealth,
  type TransportInit,
  type TransportInspection,
  type TransportSubscription,
  type TopicSettings,
} from '@omnibus/core';
import { TopicBounds } from './bound.js';
import { boundedTopicsFor, rabbitmqCapabilities } from './capabilities.js';
import { ConnectionManager } from './connection.js';
import { deleteGroup, type DeleteGroupDeps } from './delete-group.js';
import { Scrubber } from './errors.js';
import { Inspector } from './inspect.js';
import { ManagementApi } from './management.js';
import { Names } from './names.js';
import { resolveConfig, tlsSocketOptions, type ResolvedConfig } from './options.js';
import { Planner } from './planner.js';
import { Publisher } from './publisher.js';
import { RabbitSubscription, type SubscriptionDeps } from './subscription.js';
import { Topology } from './topology.js';

/** `amqp://` / `amqps://` — the RabbitMQ transport. Options: see RabbitMQOptionsSchema and the README. */
export function createTransport(init: TransportInit): Transport {
  return new RabbitMQTransport(resolveConfig(init.url, init.options), init.logger);
}

class RabbitMQTransport implements Transport {
  readonly name = 'rabbitmq';
  readonly capabilities: TransportCapabilities;
  private readonly connection: ConnectionManager;
  private readonly topology: Topology;
  private readonly publisher: Publisher;
  private readonly planner: Planner;
  private readonly deps: SubscriptionDeps;
  private readonly inspector: Inspector;
  private readonly deleteDeps: DeleteGroupDeps;
  private readonly subscriptions = new Set<RabbitSubscription>();
  /** Groups made by ensureGroup, re-declared after every reconnect. */
  private readonly ensured = new Map<string, { topic: string; group: string }>();
  /** Bounds of the topics declared bounded (declareTopic): read by topology, planner, subscriptions, inspect. */
  private readonly bounds = new TopicBounds();
  private closing: Promise<void> | undefined;

  constructor(
    config: ResolvedConfig,
    private readonly logger: Logger,
  ) {
    // maxMessageBytes is the option: what this broker is configured to take (see capabilities.ts).
    // What the group queues' type can bound (see capabilities.ts).
    this.capabilities = { ...rabbitmqCapabilities, maxMessageBytes: config.options.maxMessageBytes, boundedTopics: boundedTopicsFor(config.options.queueType) };
    const scrub = new Scrubber(config.secrets);
    const names = new Names(config.options.prefix, config.options.delayQueueType);
    this.connection = new ConnectionManager(config, scrub, logger);
    this.topology = new Topology(names, config.options, this.connection, scrub, logger, this.bounds);
    this.publisher = new Publisher(this.connection, config.options, scrub, logger);
    this.planner = new Planner(names, this.topology, config.options, this.bounds);
    this.deps = { connection: this.connection, topology: this.topology, publisher: this.publisher, planner: this.planner, names, options: config.options, scrub, logger, bounds: this.bounds };
    const { management, options } = config;
    // The management API is asked over https with the same TLS settings as the AMQP connection.
    const managementApi = management && new ManagementApi(management, management.base.startsWith('https:') ? tlsSocketOptions(options) : {}, options.managementTimeoutMs, scrub, logger);
    this.inspector = new Inspector(names, this.connection, managementApi, options.connectTimeoutMs, scrub, logger, this.bounds);
    this.deleteDeps = { names, connection: this.connection, topology: this.topology, connectTimeoutMs: options.connectTimeoutMs, scrub, logger };
    this.connection.listen({
      connected: (_model, reconnect) => {
        if (reconnect) this.redeclareEnsured();
      },
    });
  }

  async connect(): Promise<void> {
    this.assertOpen();
    await this.connection.connect();
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    // Bad input (reserved header, delay out of range) throws before anything is sent.
    const plans = messages.map((message, index) => this.planner.forTopic(message, messages.length > 1 ? index : undefined));
    try {
      await this.connection.connect();
    } catch (cause) {
      if (isOmnibusError(cause, 'CLOSED')) throw cause;
      throw new PublishError(`rabbitmq: cannot publish: ${(cause as Error).message}`, { cause, topic: messages[0]?.topic });
    }
    await this.publisher.publish(plans);
  }

  /**
   * A bounded topic: its group queues are declared with the bound from now on (see bound.ts).
   * Nothing is sent here: a queue that exists with another bound is found when its group is
   * declared (ensureGroup, subscribe), as a ConfigError on `bound`.
   */
  async declareTopic(topic: string, settings: TopicSettings): Promise<void> {
    this.assertOpen();
    this.deps.names.topicExchange(topic);
    const { bound } = settings;
    if (!bound) return;
    // Core checked it already; a transport used directly is checked too.
    assertBoundSupported(this, topic, bound);
    this.bounds.set(topic, bound);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    // Names are checked before anything reaches the broker (ConfigError on topic or group).
    this.deps.names.groupQueue(topic, group);
    await this.connection.connect();
    await this.topology.group(topic, group);
    this.ensured.set(`${topic}\u0000${group}`, { topic, group });
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    this.assertOpen();
    assertConcurrency(params.concurrency);
    this.deps.names.groupQueue(params.topic, params.group);
    await this.connection.connect();
    const subscription = new RabbitSubscription(params, this.deps, (closed) => this.subscriptions.delete(closed));
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close();
      throw error;
    }
    return subscription;
  }

  /** Depth of the topic's groups from the broker (see inspect.ts and README "Inspection"). */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.assertOpen();
    await this.connection.connect();
    return this.inspector.inspect(topic, group, () => this.groupsOf(topic));
  }

  /** Remove a group and what is kept for it (see delete-group.ts); refused while one of our subscriptions reads it. */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    const queue = this.deps.names.groupQueue(topic, group);
    // Also while it is between consumers (reconnecting): it would declare the queue again.
    const reading = [...this.subscriptions].filter((subscription) => subscription.queue === queue).length;
    if (reading > 0) throw new ConfigError('group', `rabbitmq: group "${group}" of topic "${topic}" is read by ${reading} subscription${reading === 1 ? '' : 's'} of this transport; close them before deleting it`);
    this.ensured.delete(`${topic}\u0000${group}`);
    await this.connection.connect();
    await deleteGroup(this.deleteDeps, topic, group);
  }

  /** RabbitMQ's server properties from connection.start (no extra round trip). */
  async brokerInfo(): Promise<BrokerInfo> {
    this.assertOpen();
    await this.connection.connect();
    const properties = (this.connection.current?.connection.serverProperties ?? {}) as Readonly<Record<string, unknown>>;
    const text = (name: string): string | undefined => (typeof properties[name] === 'string' ? properties[name] : undefined);
    const details: Record<string, string> = {};
    for (const name of ['platform', 'cluster_name']) {
      const value = text(name);
      if (value !== undefined) details[name] = value;
    }
    return { product: text('product') ?? 'RabbitMQ', version: text('version'), details };
  }

  /** The connection's state now (see health.ts). */
  health(): TransportHealth {
    return this.connection.health();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
      await this.publisher.close();
      await this.topology.close();
      await this.connection.close();
    })();
    return this.closing;
  }

  /** The groups of `topic` this transport declared (subscriptions and ensureGroup). */
  private groupsOf(topic: string): string[] {
    const groups = [...this.ensured.values()].filter((entry) => entry.topic === topic).map((entry) => entry.group);
    for (const subscription of this.subscriptions) if (subscription.topic === topic) groups.push(subscription.group);
    return groups;
  }

  private redeclareEnsured(): void {
    for (const { topic, group } of this.ensured.values()) {
      this.topology.group(topic, group).catch((error: unknown) => {
        this.logger.warn({ err: error, topic, group }, 'rabbitmq: re-declaring a group after reconnect failed');
      });
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new ClosedError('the rabbitmq transport is closed');
  }
}
