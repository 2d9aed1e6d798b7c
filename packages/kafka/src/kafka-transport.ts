import {
  ClosedError,
  ConfigError,
  messageBytesOver,
  ConnectionError,
  PublishError,
  QueueFullError,
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
  withTimeout,
} from '@omnibus/core';
import { BoundedTopics } from './bound/bounded-topics.js';
import { kafkaCapabilities } from './capabilities.js';
import { resolveConfig, type KafkaConfig } from './config.js';
import { deleteGroup } from './delete-group.js';
import type { ConnectionObserver, KafkaDriver, OutgoingRecord } from './driver/driver.js';
import { KafkajsDriver } from './driver/kafkajs-driver.js';
import { PlatformaticDriver } from './driver/platformatic-driver.js';
import { recordSize, toRecord } from './envelope.js';
import { describeError, kafkaErrorType, sanitizeError } from './errors.js';
import { ConnectionHealth } from './health.js';
import { inspectTopic } from './inspect.js';
import { describeTooLarge } from './message-too-large.js';
import { createNaming, type Naming } from './naming.js';
import { Publisher } from './publisher.js';
import { anyBrokerReachable } from './reachability.js';
import { KafkaSubscription } from './subscription/subscription.js';
import { Topology } from './topology.js';

/** Build a driver for a config; the seam where another Kafka client would plug in. `connection` is told of its connections (health). */
export type DriverFactory = (config: KafkaConfig, logger: Logger, connection: ConnectionObserver) => KafkaDriver;

/** Room for a consumer's commit request on top of its commit interval (see the grace in bound/admission.ts). */
const BOUND_COMMIT_ROOM_MS = 200;

export const kafkajsDriverFactory: DriverFactory = (config, logger, connection) => new KafkajsDriver({ ...config, logger, secrets: config.secrets, connection });

export const platformaticDriverFactory: DriverFactory = (config, logger, connection) => new PlatformaticDriver({ ...config, logger, secrets: config.secrets, connection });

/** The driver `options.driver` names. */
const selectedDriver: DriverFactory = (config, logger, connection) => (config.driver === 'kafkajs' ? kafkajsDriverFactory : platformaticDriverFactory)(config, logger, connection);

/**
 * `kafka://` — topics are Kafka topics, groups are consumer groups (one per
 * Omnibus topic and group), keys are Kafka keys, headers carry the envelope.
 */
export class KafkaTransport implements Transport {
  readonly name = 'kafka';
  readonly capabilities: TransportCapabilities;
  private readonly config: KafkaConfig;
  private readonly driver: KafkaDriver;
  private readonly topology: Topology;
  private readonly naming: Naming;
  private readonly logger: Logger;
  private readonly subscriptions = new Set<KafkaSubscription>();
  private readonly publisher: Publisher;
  private readonly connection: ConnectionHealth;
  private readonly bounded: BoundedTopics;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(init: TransportInit, driverFactory: DriverFactory = selectedDriver) {
    this.config = resolveConfig(init);
    this.capabilities = { ...kafkaCapabilities, maxMessageBytes: this.config.maxMessageBytes };
    this.naming = createNaming(this.config);
    this.connection = new ConnectionHealth({ describe: (error) => this.describe(error), redial: () => this.driver.probe() });
    this.driver = driverFactory(this.config, init.logger, this.connection);
    this.topology = new Topology(this.driver, this.naming, this.config, init.logger);
    this.publisher = new Publisher(this.driver, { timeoutMs: this.config.publishTimeoutMs, maxRequestBytes: this.config.maxMessageBytes });
    this.logger = init.logger;
    // A refusal waits for one commit interval of the consumers (assumed configured like this
    // transport) plus a commit's round trip, so that what they just settled is not counted.
    this.bounded = new BoundedTopics({ driver: this.driver, naming: this.naming, brokers: this.config.brokers, graceMs: this.config.commitIntervalMs + BOUND_COMMIT_ROOM_MS, perRound: this.config.boundedPerRound });
  }

  connect(): Promise<void> {
    if (this.closing) return Promise.reject(new ClosedError('the kafka transport is closed'));
    this.connecting ??= withTimeout(this.driver.connect(), this.config.connectTimeoutMs, () => new Error(`no answer within ${this.config.connectTimeoutMs} ms`)).then(() => this.connection.opened(), (error: unknown) => {
      this.connecting = undefined;
      this.connection.failed(error);
      throw new ConnectionError(`kafka: cannot connect to ${this.config.brokers.join(',')}: ${this.describe(error)}`, { cause: this.sanitize(error) });
    });
    return this.connecting;
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const firstTopic = messages[0]?.topic;
    const now = Date.now();
    const records: OutgoingRecord[] = new Array<OutgoingRecord>(messages.length);
    // Every message's main topic exists before anything is written, delayed or not: a delayed
    // message of a topic Kafka cannot create would wait for a reader that can never exist.
    const mainTopics = new Set<string>();
    const delayTopics = new Set<string>();
    let bytes = 0;
    for (let index = 0; index < messages.length; index += 1) {
      const message = messages[index] as OutgoingMessage;
      const delayMs = message.delayMs ?? 0;
      const mainTopic = this.naming.topic(message.topic);
      mainTopics.add(mainTopic);
      let record: OutgoingRecord;
      if (delayMs > 0) {
        record = toRecord(message, this.naming.delayTopic(message.topic), { dueAt: now + delayMs });
        delayTopics.add(record.topic);
      } else record = toRecord(message, mainTopic);
      // Measured as core measures it (and declares in capabilities): the transport's own
      // headers and framing fit in the room maxMessageBytes leaves below the broker's limit.
      const over = messageBytesOver(message, this.config.maxMessageBytes);
      if (over !== undefined) {
        throw new PublishError(`kafka: message "${message.id}" is ${over} bytes, above maxMessageBytes (${this.config.maxMessageBytes}); nothing was sent`, { topic: message.topic });
      }
      records[index] = record;
      bytes += recordSize(record);
    }
    const send = () => this.publisher.send(records, bytes);
    // A bounded topic's check-and-send (README "Bounded topics"); undefined for any other.
    const guarded = this.bounded.guard(messages, send);
    try {
      await this.connect();
      await this.topology.ensureTopics([...mainTopics]);
      if (delayTopics.size > 0) await this.topology.ensureTopics([...delayTopics]);
      await (guarded ?? send)();
    } catch (error) {
      if (error instanceof ClosedError || error instanceof ConfigError || error instanceof QueueFullError) throw error;
      const topics = [...new Set(messages.map((m) => m.topic))].join('", "');
      if (kafkaErrorType(error) === 'MESSAGE_TOO_LARGE') {
        // Refused at once, not retried: say what was too large for what.
        const why = await describeTooLarge(this.driver, records, messages.map((m) => m.id), this.config.maxMessageBytes);
        throw new PublishError(`kafka: publishing ${messages.length} message(s) to "${topics}" failed: ${why}`, { cause: this.sanitize(error), topic: firstTopic });
      }
      const cause = (await anyBrokerReachable(this.config.brokers))
        ? this.sanitize(error)
        : new ConnectionError(`kafka: no broker reachable at ${this.config.brokers.join(',')}`, { cause: this.sanitize(error) });
      throw new PublishError(`kafka: publishing ${messages.length} message(s) to "${topics}" failed: ${this.describe(error)}`, { cause, topic: firstTopic });
    }
  }

  /** A bound is kept by this transport's publishes (README "Bounded topics"): nothing to create for it. */
  declareTopic(topic: string, settings: TopicSettings): Promise<void> {
    try {
      this.assertOpen();
      this.bounded.declare(topic, settings.bound);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    await this.connect();
    try {
      await this.topology.ensureGroup(this.topology.names(topic, group));
      this.bounded.groupEnsured(topic);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConnectionError(`kafka: creating group "${group}" of topic "${topic}" failed: ${this.describe(error)}`, { cause: this.sanitize(error) });
    }
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    await this.ensureGroup(params.topic, params.group);
    this.assertOpen();
    const names = this.topology.names(params.topic, params.group);
    try {
      // The retry topic needs no starting offset: only members of the group write to it.
      await this.topology.ensureTopics([names.retry]);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConnectionError(`kafka: creating the retry topic "${names.retry}" failed: ${this.describe(error)}`, { cause: this.sanitize(error) });
    }
    const subscription = new KafkaSubscription(params, names, {
      driver: this.driver,
      publish: (records) => this.publishRecords(records),
      settings: this.config,
      logger: this.logger,
      secrets: this.config.secrets,
    });
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      throw error;
    }
    return {
      stop: () => subscription.stop(),
      close: async () => {
        await subscription.close();
        this.subscriptions.delete(subscription);
      },
    };
  }

  /** Write transport records (retry topics); they exist since the group was ensured. */
  private async publishRecords(records: readonly OutgoingRecord[]): Promise<void> {
    await this.topology.ensureTopics(records.map((r) => r.topic));
    await this.publisher.send(records, records.reduce((sum, record) => sum + recordSize(record), 0));
  }

  /** Depth and lag from the broker (README "Inspection"); creates nothing. */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.assertOpen();
    await this.connect();
    try {
      return await inspectTopic(
        { driver: this.driver, names: (t, g) => this.topology.names(t, g), mainTopic: (t) => this.naming.topic(t), groupIdPrefix: (t) => this.naming.groupId(t, '') },
        topic,
        group,
      );
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConnectionError(`kafka: inspecting topic "${topic}" failed: ${this.describe(error)}`, { cause: this.sanitize(error) });
    }
  }

  /** Remove the group's consumer group and retry topic (README "Deleting a group"); refused while this transport reads it. */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    const names = this.topology.names(topic, group);
    if ([...this.subscriptions].some((subscription) => subscription.groupId === names.groupId)) {
      throw new ConfigError('group', `group "${group}" of topic "${topic}" is read by a subscription of this transport: close it before deleting the group`);
    }
    await this.connect();
    try {
      await deleteGroup(this.driver, names, { topic, group }, this.config.requestTimeoutMs);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConnectionError(`kafka: deleting group "${group}" of topic "${topic}" failed: ${this.describe(error)}`, { cause: this.sanitize(error) });
    } finally {
      // Whatever was deleted, the next ensureGroup looks at the broker again.
      this.topology.forget(names);
    }
  }

  /**
   * Kafka's protocol has no version query (ApiVersions lists request versions, not a release), so
   * the version is undefined; the cluster id, broker count and controller are what it tells.
   */
  async brokerInfo(): Promise<BrokerInfo> {
    await this.connect();
    try {
      const cluster = await this.driver.describeCluster();
      return { product: 'Apache Kafka', version: undefined, details: { clusterId: cluster.clusterId, brokers: String(cluster.brokers), controller: String(cluster.controller ?? 'none') } };
    } catch (error) {
      throw new ConnectionError(`kafka: describing the cluster failed: ${this.describe(error)}`, { cause: this.sanitize(error) });
    }
  }

  /** The connection's state now, from the client's own events (README "Health"). */
  health(): TransportHealth {
    return this.connection.health();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.connection.close();
      await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
      this.subscriptions.clear();
      await this.driver.close();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new ClosedError('the kafka transport is closed');
  }

  private describe(error: unknown): string {
    return describeError(error, this.config.secrets);
  }

  private sanitize(error: unknown): Error {
    return sanitizeError(error, this.config.secrets);
  }
}
