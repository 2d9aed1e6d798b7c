import { exponentialBackoff, backoffDelay, pause, withTimeout, type Logger } from '@omnibus/core';
import { Admin, ListOffsetTimestamps, Producer, stringSerializers, type MessageToProduce } from '@platformatic/kafka';
import { encodedHeaderName, encodedHeaderValue } from '../header-bytes.js';
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
import { controllerId, describeTopicConfigs, fetchCommittedOffsets, listOffsets } from './platformatic-admin.js';
import { commitOffsets, coordinatorConnection } from './platformatic-commit.js';
import { noteTimeout, watchClient } from './platformatic-connection.js';
import { driverError, protocolErrorName } from './platformatic-errors.js';
import { PlatformaticMember, type PlatformaticMemberTimings } from './platformatic-member.js';
import { fixNullRecordBytes } from './platformatic-null-bytes.js';
import { backoffRetries, clientOptions, type PlatformaticClientSettings } from './platformatic-options.js';
import { javaCompatiblePartitioner } from './platformatic-partitioner.js';

/** Between looks at a new topic's leaders. */
const LEADER_WAIT = exponentialBackoff(20, 500);

export interface PlatformaticDriverSettings extends PlatformaticClientSettings, PlatformaticMemberTimings {
  readonly logger: Logger;
  readonly secrets: readonly string[];
  /** Told of every connection's life (health). */
  readonly connection: ConnectionObserver;
}

/** Group states (DescribeGroups) in which a group has no member. */
const MEMBERLESS_STATES = new Set(['EMPTY', 'DEAD', '']);

type ProducedMessage = MessageToProduce<string, Buffer, string, string | Buffer>;

/**
 * The @platformatic/kafka implementation of the driver seam: one admin and one idempotent
 * producer (acks=all) per transport; every group member gets its own consumer (see
 * PlatformaticMember). Every client error leaves through driverError, so the transport
 * reads `type`/`retriable` as for kafkajs and redacts the message and its causes.
 */
export class PlatformaticDriver implements KafkaDriver {
  private readonly admin: Admin;
  private readonly producer: Producer<string, Buffer, string, string | Buffer>;
  private connecting: Promise<void> | undefined;

  /** The tail of the serialized Admin calls (serialAdmin). */
  private adminQueue: Promise<void> = Promise.resolve();

  constructor(private readonly settings: PlatformaticDriverSettings) {
    fixNullRecordBytes();
    this.admin = new Admin(clientOptions(settings));
    this.producer = new Producer<string, Buffer, string, string | Buffer>({
      ...clientOptions(settings),
      idempotent: true,
      acks: -1,
      partitioner: javaCompatiblePartitioner(),
      // Header names from a cache (the envelope's and the transport's encoded once), pre-encoded values as they are.
      serializers: {
        key: stringSerializers.key as (key?: string) => Buffer | undefined,
        headerKey: (name?: string) => (name === undefined ? undefined : encodedHeaderName(name)),
        headerValue: (value?: string | Buffer) => (value === undefined ? undefined : encodedHeaderValue(value)),
      },
    });
    for (const client of [this.admin, this.producer]) {
      backoffRetries(client, settings);
      watchClient(client, settings.connection, settings.requestTimeoutMs);
    }
  }

  /** Run an admin or producer call: failures translated, a timed-out request reported as a lost connection. */
  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      noteTimeout(error, this.settings.connection, this.settings.requestTimeoutMs);
      throw driverError(what, error);
    }
  }

  connect(): Promise<void> {
    // The clients dial on demand: a metadata round trip proves the cluster answers, and
    // initialising the idempotent producer (its producer id) is the producer's connect.
    this.connecting ??= this.call('connecting', async () => {
      await this.admin.metadata({ topics: [], forceUpdate: true });
      await this.producer.initIdempotentProducer({});
    });
    // A failed attempt may be retried by a later connect().
    this.connecting.catch(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async send(records: readonly OutgoingRecord[], timeoutMs: number): Promise<void> {
    const messages: ProducedMessage[] = new Array<ProducedMessage>(records.length);
    for (let index = 0; index < records.length; index += 1) {
      const record = records[index] as OutgoingRecord;
      const message: ProducedMessage = { topic: record.topic, value: Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength), headers: record.headers };
      if (record.key !== null) message.key = record.key;
      messages[index] = message;
    }
    // The client has no bound on one send (a topic missing from the metadata is waited for): give it one.
    await this.call('producing', () => withTimeout(this.producer.send({ messages }), timeoutMs, () => new Error(`no acknowledgement within ${timeoutMs} ms`)));
  }

  async createTopics(specs: readonly TopicSpec[]): Promise<string[]> {
    // One request per topic: the client fails a whole request for one existing topic, and
    // which topic existed is what the caller needs to know.
    const outcomes = await Promise.all(specs.map((spec) => this.createTopic(spec)));
    return specs.filter((_, index) => outcomes[index]).map((spec) => spec.topic);
  }

  /** Whether the topic was created (false: it existed). */
  private async createTopic({ topic, partitions, replicationFactor }: TopicSpec): Promise<boolean> {
    try {
      await this.serialAdmin(() => this.admin.createTopics({ topics: [topic], partitions, replicas: replicationFactor ?? -1 }));
      await this.leadersOf(topic);
      return true;
    } catch (error) {
      const name = protocolErrorName(error);
      if (name === 'TOPIC_ALREADY_EXISTS') return false;
      noteTimeout(error, this.settings.connection, this.settings.requestTimeoutMs);
      const translated = driverError(`creating topic "${topic}"`, error);
      if (name === 'INVALID_TOPIC_EXCEPTION') throw new TopicNameRefusedError(topic, await this.foldedTwin(topic), { cause: translated });
      throw translated;
    }
  }

  /**
   * One at a time: @platformatic/kafka 1.22's Admin shares one request among concurrent calls of
   * createTopics (also deleteTopics, and listTopics with every metadata-keyed call) whatever their
   * topics, so two subscriptions creating two topics at once got one topic and the other call's
   * success for a topic never created.
   */
  private serialAdmin<T>(call: () => Promise<T>): Promise<T> {
    const run = this.adminQueue.then(call, call);
    this.adminQueue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * Wait until the metadata of a topic just created shows a leader for every partition (kafkajs'
   * waitForLeaders): creation is asynchronous in Kafka, and a loaded broker answers requests for the
   * new topic with UNKNOWN_TOPIC_OR_PARTITION for seconds. Bounded by requestTimeoutMs; after that
   * the callers' own retries take over.
   */
  private async leadersOf(topic: string): Promise<void> {
    const deadline = Date.now() + this.settings.requestTimeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const partitions = (await this.admin.metadata({ topics: [topic], forceUpdate: true })).topics.get(topic)?.partitions ?? [];
        if (partitions.length > 0 && partitions.every((partition) => partition !== undefined && partition.leader >= 0)) return;
      } catch {
        // Not known yet (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE): ask again.
      }
      if (Date.now() >= deadline) return;
      await pause(backoffDelay(LEADER_WAIT, attempt));
    }
  }

  /** The existing topic Kafka folds `topic` onto (same name but for `.` and `_`), if any. */
  private async foldedTwin(topic: string): Promise<string | undefined> {
    try {
      const folded = foldTopicName(topic);
      return (await this.serialAdmin(() => this.admin.listTopics())).find((existing) => existing !== topic && foldTopicName(existing) === folded);
    } catch {
      // The refusal is reported anyway, without the other name.
      return undefined;
    }
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    if (topics.length) await this.call('deleting topics', () => this.serialAdmin(() => this.admin.deleteTopics({ topics: [...topics] })));
  }

  async topicMaxMessageBytes(topic: string): Promise<number | undefined> {
    const configs = await this.call('describing the topic config', () => describeTopicConfigs(this.admin, topic, ['max.message.bytes']));
    const value = configs.find((entry) => entry.name === 'max.message.bytes')?.value;
    const limit = value === undefined || value === null ? Number.NaN : Number(value);
    return Number.isSafeInteger(limit) && limit > 0 ? limit : undefined;
  }

  /** Partition counts of existing topics (a missing topic fails the metadata request). */
  private async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    const metadata = await this.admin.metadata({ topics: [...topics] });
    return new Map(topics.map((topic) => [topic, metadata.topics.get(topic)?.partitionsCount ?? 0]));
  }

  async committedOffsets(groupId: string, topics: readonly string[]): Promise<PartitionOffset[]> {
    return this.call('fetching committed offsets', async () => {
      const counts = await this.partitionCounts(topics);
      const request = topics.map((name) => ({ name, partitionIndexes: Array.from({ length: counts.get(name) ?? 0 }, (_, index) => index) }));
      const committed = await fetchCommittedOffsets(this.admin, groupId, request);
      return committed.flatMap(({ name, partitions }) =>
        partitions.map(({ partitionIndex, committedOffset, metadata }) => ({ topic: name, partition: partitionIndex, offset: committedOffset.toString(), metadata: metadata === '' || metadata === null || metadata === undefined ? null : metadata })),
      );
    });
  }

  /** Offsets of every partition of `topic` at `timestamp` (LATEST: the next to be written, EARLIEST: the first kept). */
  private async offsetsAt(topic: string, timestamp: bigint): Promise<Map<number, string>> {
    const counts = await this.partitionCounts([topic]);
    const partitions = Array.from({ length: counts.get(topic) ?? 0 }, (_, partitionIndex) => partitionIndex);
    const listed = await listOffsets(this.admin, topic, partitions, timestamp);
    return new Map(listed.map(({ partitionIndex, offset }) => [partitionIndex, offset.toString()]));
  }

  async latestOffsets(topic: string): Promise<{ partition: number; offset: string }[]> {
    const high = await this.call('listing offsets', () => this.offsetsAt(topic, ListOffsetTimestamps.LATEST));
    return [...high].sort(([a], [b]) => a - b).map(([partition, offset]) => ({ partition, offset }));
  }

  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    return this.call('listing offsets', async () => {
      const [low, high] = await Promise.all([this.offsetsAt(topic, ListOffsetTimestamps.EARLIEST), this.offsetsAt(topic, ListOffsetTimestamps.LATEST)]);
      return [...high].sort(([a], [b]) => a - b).map(([partition, next]) => ({ partition, low: low.get(partition) ?? next, high: next }));
    });
  }

  async groupHasMembers(groupId: string): Promise<boolean> {
    return (await this.groupsWithMembers([groupId])).has(groupId);
  }

  async groupsWithMembers(groupIds: readonly string[]): Promise<Set<string>> {
    if (groupIds.length === 0) return new Set();
    const groups = await this.call('describing groups', () => this.admin.describeGroups({ groups: [...groupIds] }));
    return new Set([...groups.values()].filter((group) => !MEMBERLESS_STATES.has(group.state) || group.members.size > 0).map((group) => group.id));
  }

  listTopics(): Promise<string[]> {
    return this.call('listing topics', () => this.serialAdmin(() => this.admin.listTopics({ includeInternals: true })));
  }

  async listGroupIds(): Promise<string[]> {
    return [...(await this.call('listing groups', () => this.admin.listGroups())).keys()];
  }

  async deleteGroup(groupId: string): Promise<GroupDeletion> {
    try {
      await this.admin.deleteGroups({ groups: [groupId] });
      return 'deleted';
    } catch (error) {
      const name = protocolErrorName(error);
      if (name === 'GROUP_ID_NOT_FOUND') return 'missing';
      if (name === 'NON_EMPTY_GROUP') return 'in-use';
      noteTimeout(error, this.settings.connection, this.settings.requestTimeoutMs);
      throw driverError(`deleting group "${groupId}"`, error);
    }
  }

  async probe(): Promise<void> {
    await this.call('probing the cluster', () => this.admin.metadata({ topics: [], forceUpdate: true }));
  }

  async describeCluster(): Promise<{ readonly clusterId: string; readonly brokers: number; readonly controller: number | null }> {
    const [metadata, controller] = await this.call('describing the cluster', () => Promise.all([this.admin.metadata({ topics: [], forceUpdate: true }), controllerId(this.admin)]));
    return { clusterId: metadata.id, brokers: metadata.brokers.size, controller: controller >= 0 ? controller : null };
  }

  /**
   * A group with no members accepts a commit from outside the group (generation -1, no
   * member id), the way Kafka's own admin tools set offsets: no join needed.
   */
  async commitAsTemporaryMember(groupId: string, _topics: readonly string[], offsets: readonly PartitionOffset[], timeoutMs: number): Promise<void> {
    await this.call('committing starting offsets', () =>
      withTimeout(
        (async () => {
          const connection = await coordinatorConnection(this.admin, groupId);
          await commitOffsets(connection, { groupId, generationId: -1, memberId: '' }, offsets);
        })(),
        timeoutMs,
        () => new Error(`no answer within ${timeoutMs} ms`),
      ),
    );
  }

  member(settings: MemberSettings): GroupMember {
    return new PlatformaticMember(settings, this.settings, this.settings.connection);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producer.close(), this.admin.close()]);
  }
}

