import {
  ClosedError,
  ConfigError,
  PublishError,
  isOmnibusError,
  type Logger,
  type OutgoingMessage,
  type SubscribeParams,
  type Transport,
  type TransportCapabilities,
  type TransportInit,
  type TransportSubscription,
} from '@omnibus/core';
import { rabbitmqCapabilities } from './capabilities.js';
import { ConnectionManager } from './connection.js';
import { Scrubber } from './errors.js';
import { Names } from './names.js';
import { resolveConfig, type ResolvedConfig } from './options.js';
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
  private readonly subscriptions = new Set<RabbitSubscription>();
  /** Groups made by ensureGroup, re-declared after every reconnect. */
  private readonly ensured = new Map<string, { topic: string; group: string }>();
  private closing: Promise<void> | undefined;

  constructor(
    config: ResolvedConfig,
    private readonly logger: Logger,
  ) {
    // maxMessageBytes is the option: what this broker is configured to take (see capabilities.ts).
    this.capabilities = { ...rabbitmqCapabilities, maxMessageBytes: config.options.maxMessageBytes };
    const scrub = new Scrubber(config.secrets);
    const names = new Names(config.options.prefix, config.options.delayQueueType);
    this.connection = new ConnectionManager(config, scrub, logger);
    this.topology = new Topology(names, config.options, this.connection, scrub, logger);
    this.publisher = new Publisher(this.connection, config.options, scrub, logger);
    this.planner = new Planner(names, this.topology, config.options);
    this.deps = { connection: this.connection, topology: this.topology, publisher: this.publisher, planner: this.planner, names, options: config.options, scrub, logger };
    this.connection.listen({
      connected: (_model, reconnect) => {
        if (reconnect) this.redeclareEnsured();
      },
      disconnected: () => {},
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
    if (!Number.isInteger(params.concurrency) || params.concurrency < 1) {
      throw new ConfigError('concurrency', `must be a positive integer, got ${params.concurrency}`);
    }
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

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
      await this.publisher.close();
      await this.topology.close();
      await this.connection.close();
    })();
    return this.closing;
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
