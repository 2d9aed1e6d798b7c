import type { Logger } from '@omnibus/core';
import kafkajs, { Kafka, Partitioners, type Admin, type KafkaConfig as KafkajsConfig, type Message, type Producer, type SASLOptions } from 'kafkajs';
import type { SaslOptions, SslOptions } from '../options.js';
import { foldTopicName } from '../naming.js';
import {
  TopicNameRefusedError,
  type ConnectionObserver,
  type GroupDeletion,
  type GroupMember,
  type KafkaDriver,
  type MemberSettings,
  type OutgoingRecord,
  type PartitionOffset,
  type PartitionWatermarks,
  type TopicSpec,
} from './driver.js';
import { KAFKAJS_LOG_LEVEL, kafkajsLogCreator } from './kafkajs-logger.js';
import { KafkajsMember, type MemberTimings } from './kafkajs-member.js';
import { watchedSocketFactory } from './kafkajs-sockets.js';

// kafkajs is CommonJS: Node's ESM loader finds only the names its lexer detects, and ConfigResourceTypes is not one
// of them (vitest's interop hid this; a plain `node` consumer failed to load the transport at all).
const { ConfigResourceTypes } = kafkajs;

export interface KafkajsDriverSettings extends MemberTimings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: SslOptions | undefined;
  readonly sasl: SaslOptions | undefined;
  readonly brokerConnectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  readonly secrets: readonly string[];
  /** Told of every connection's life (health). */
  readonly connection: ConnectionObserver;
}

/** Group states in which the group has no member (DescribeGroups). */
const MEMBERLESS_STATES = new Set(['Empty', 'Dead', '']);

/**
 * The kafkajs implementation of the driver seam. One client (admin + idempotent
 * producer) per transport; every group member gets its own client, because kafkajs
 * shares a committed-offset cache per group id between consumers of one client.
 */
export class KafkajsDriver implements KafkaDriver {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;

  constructor(private readonly settings: KafkajsDriverSettings) {
    this.kafka = this.client();
    this.admin = this.kafka.admin();
    this.producer = this.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // The idempotent producer defaults to retrying forever; publish must fail in bounded time.
      retry: { retries: Math.max(1, settings.retries), initialRetryTime: settings.retryInitialDelayMs, maxRetryTime: Math.max(1_000, settings.retryInitialDelayMs * 10) },
    });
    // A request with no answer in requestTimeoutMs: the connection is not working (a silent network).
    const timedOut = () => settings.connection.lost(new Error(`a request got no answer within ${settings.requestTimeoutMs} ms`));
    this.admin.on(this.admin.events.REQUEST_TIMEOUT, timedOut);
    this.producer.on(this.producer.events.REQUEST_TIMEOUT, timedOut);
  }

  private client(): Kafka {
    const { settings } = this;
    const config: KafkajsConfig = {
      clientId: settings.clientId,
      brokers: [...settings.brokers],
      connectionTimeout: settings.brokerConnectTimeoutMs,
      authenticationTimeout: settings.brokerConnectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      enforceRequestTimeout: true,
      retry: { retries: settings.retries, initialRetryTime: settings.retryInitialDelayMs, maxRetryTime: Math.max(1_000, settings.retryInitialDelayMs * 10) },
      logLevel: KAFKAJS_LOG_LEVEL,
      logCreator: kafkajsLogCreator(settings.logger, settings.secrets),
      socketFactory: watchedSocketFactory(settings.connection),
    };
    if (settings.ssl !== undefined) config.ssl = settings.ssl;
    if (settings.sasl) config.sasl = { mechanism: settings.sasl.mechanism, username: settings.sasl.username, password: settings.sasl.password } as SASLOptions;
    return new Kafka(config);
  }

  connect(): Promise<void> {
    this.connecting ??= (async () => {
      await this.admin.connect();
      await this.producer.connect();
    })();
    // A failed attempt may be retried by a later connect().
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async send(records: readonly OutgoingRecord[], timeoutMs: number): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const record of records) {
      let messages = byTopic.get(record.topic);
      if (!messages) byTopic.set(record.topic, (messages = []));
      // kafkajs only reads the headers: no copy needed.
      messages.push({ key: record.key, value: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength), headers: record.headers });
    }
    await this.producer.sendBatch({ acks: -1, timeout: timeoutMs, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<string[]> {
    try {
      // Resolves false when every topic existed already.
      const created = await this.admin.createTopics({
        waitForLeaders: true,
        timeout: this.settings.requestTimeoutMs,
        topics: specs.map(({ topic, partitions, replicationFactor }) => ({ topic, numPartitions: partitions, replicationFactor: replicationFactor ?? -1 })),
      });
      return created ? specs.map((s) => s.topic) : [];
    } catch (error) {
      // Some existed, some were created: only "already exists" errors are fine.
      const errors = (error as { errors?: { type?: string; topic?: string }[] }).errors;
      const refused = Array.isArray(errors) ? errors.find((e) => e.type === 'INVALID_TOPIC_EXCEPTION' && typeof e.topic === 'string') : undefined;
      if (refused) throw new TopicNameRefusedError(refused.topic as string, await this.foldedTwin(refused.topic as string), { cause: error });
      if (!Array.isArray(errors) || !errors.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) throw error;
      const existing = new Set(errors.map((e) => e.topic));
      return specs.map((s) => s.topic).filter((topic) => !existing.has(topic));
    }
  }

  /** The existing topic Kafka folds `topic` onto (same name but for `.` and `_`), if any. */
  private async foldedTwin(topic: string): Promise<string | undefined> {
    try {
      const folded = foldTopicName(topic);
      return (await this.admin.listTopics()).find((existing) => existing !== topic && foldTopicName(existing) === folded);
    } catch {
      // The refusal is reported anyway, without the other name.
      return undefined;
    }
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length) await this.admin.deleteTopics({ topics: [...topics], timeout: this.settings.requestTimeoutMs });
  }

  async topicMaxMessageBytes(topic: string): Promise<number | undefined> {
    const { resources } = await this.admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }] });
    const value = resources[0]?.configEntries.find((entry) => entry.configName === 'max.message.bytes')?.configValue;
    const limit = value === undefined ? Number.NaN : Number(value);
    return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
  }

  async committedOffsets(groupId: string, topics: readonly string[]): Promise<PartitionOffset[]> {
    const result = await this.admin.fetchOffsets({ groupId, topics: [...topics] });
    return result.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset, metadata }) => ({ topic, partition, offset, metadata: metadata ?? null })),
    );
  }

  async latestOffsets(topic: string): Promise<{ partition: number; offset: string }[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map(({ partition, high }) => ({ partition, offset: high }));
  }

  async groupHasMembers(groupId: string): Promise<boolean> {
    const { groups } = await this.admin.describeGroups([groupId]);
    const group = groups[0];
    return group !== undefined && (!MEMBERLESS_STATES.has(group.state) || group.members.length > 0);
  }

  async groupsWithMembers(groupIds: readonly string[]): Promise<Set<string>> {
    if (groupIds.length === 0) return new Set();
    const { groups } = await this.admin.describeGroups([...groupIds]);
    return new Set(groups.filter((group) => !MEMBERLESS_STATES.has(group.state) || group.members.length > 0).map((group) => group.groupId));
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async listGroupIds(): Promise<string[]> {
    return (await this.admin.listGroups()).groups.map((group) => group.groupId);
  }

  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map(({ partition, low, high }) => ({ partition, low, high }));
  }

  async deleteGroup(groupId: string): Promise<GroupDeletion> {
    try {
      await this.admin.deleteGroups([groupId]);
      return 'deleted';
    } catch (error) {
      // KafkaJSDeleteGroupsError: one entry per group that could not be deleted, with its error type.
      const failures = (error as { groups?: { error?: { type?: string } }[] }).groups;
      const type = Array.isArray(failures) ? failures[0]?.error?.type : undefined;
      if (type === 'GROUP_ID_NOT_FOUND') return 'missing';
      if (type === 'NON_EMPTY_GROUP') return 'in-use';
      throw error;
    }
  }

  async probe(): Promise<void> {
    await this.admin.describeCluster();
  }

  async describeCluster(): Promise<{ readonly clusterId: string; readonly brokers: number; readonly controller: number | null }> {
    const cluster = await this.admin.describeCluster();
    return { clusterId: cluster.clusterId, brokers: cluster.brokers.length, controller: cluster.controller };
  }

  async commitAsTemporaryMember(groupId: string, topics: readonly string[], offsets: readonly PartitionOffset[], timeoutMs: number): Promise<void> {
    // kafkajs can only commit as a group member (admin.setOffsets joins too, and then
    // waits a whole fetch cycle). Join with a fast-polling member, commit, leave.
    const member = new KafkajsMember(this.client(), { groupId, topics, handlers: idleHandlers }, { ...this.settings, maxWaitTimeMs: 50 }, this.settings.connection);
    try {
      await member.start(timeoutMs);
      member.pause(offsets);
      await member.commit(offsets);
    } finally {
      await member.stop().catch(() => {});
    }
  }

  member(settings: MemberSettings): GroupMember {
    return new KafkajsMember(this.client(), settings, this.settings, this.settings.connection);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

const idleHandlers = {
  onBatch: async () => {},
  onRevoking: () => {},
  onAssigned: () => {},
  onCrash: () => {},
};
