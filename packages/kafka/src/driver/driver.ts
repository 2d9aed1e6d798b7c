/**
 * The seam between the transport's policy (buffering, ordering, commits, retries)
 * and a Kafka client library. Only `kafkajs-driver.ts` imports kafkajs; another
 * client (e.g. @platformatic/kafka) plugs in by implementing these interfaces.
 *
 * Offsets are decimal strings (Kafka offsets are 64-bit).
 */

/**
 * A record to produce. Header values are UTF-8 on the wire: strings, or Buffers already encoded
 * (the envelope attributes that never change for a topic), shared between records and never to
 * be written to.
 */
export interface OutgoingRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string | Buffer>>;
}

/**
 * A consumed record, decoded: `value` is a private copy, headers are UTF-8 strings in a fresh
 * object per record that the transport owns (it keeps it as the message's headers).
 */
export interface FetchedRecord {
  readonly offset: string;
  /** The record's timestamp, epoch ms (CreateTime: when the producer wrote it; LogAppendTime if the topic says so). */
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Record<string, string>;
}

/**
 * The broker refused to create `topic` (Kafka's INVALID_TOPIC_EXCEPTION). For a name that is
 * valid Kafka syntax this means an existing topic has the same name but for `.` and `_`,
 * which Kafka treats alike (metric names): `collidesWith` is that topic when it was found.
 */
export class TopicNameRefusedError extends Error {
  constructor(
    readonly topic: string,
    readonly collidesWith: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`the broker refused to create topic "${topic}"${collidesWith === undefined ? '' : `: it collides with the existing topic "${collidesWith}"`}`, options);
    this.name = 'TopicNameRefusedError';
  }
}

export interface FetchedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly FetchedRecord[];
  /** The offset to fetch next (after the last record, or after filtered control records). */
  readonly nextOffset: string;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface PartitionOffset extends TopicPartition {
  /** `-1` when the group has no committed offset for the partition. */
  readonly offset: string;
  readonly metadata: string | null;
}

/** The log of one partition: `low` is its first offset still kept, `high` the next one to be written. */
export interface PartitionWatermarks {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

/** What deleting a consumer group did: `in-use` means the broker refused, the group has members. */
export type GroupDeletion = 'deleted' | 'missing' | 'in-use';

/**
 * What the driver tells the transport about its broker connections, from the client's own
 * events (no round trip of its own). Calls must be cheap: `alive` runs for every chunk read.
 */
export interface ConnectionObserver {
  /** Bytes arrived from a broker: a connection works now. */
  alive(): void;
  /** A connection was lost (reset, closed by the peer), could not be made, or a request timed out. */
  lost(error: Error): void;
  /** A client failed without a connection being lost (a consumer crash): recorded as the last error. */
  failed(error: Error): void;
}

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** Undefined: the broker's default. */
  readonly replicationFactor: number | undefined;
}

export interface Assignment {
  /** Changes when the member lost its membership (and so every partition) in between. */
  readonly memberId: string;
  readonly partitions: readonly TopicPartition[];
}

/** Callbacks of a group member. They must not throw. */
export interface MemberHandlers {
  /** Records fetched for an assigned partition; the next fetch of that partition waits for the promise. */
  onBatch(batch: FetchedBatch): Promise<void>;
  /** A rebalance started: the current assignment is about to be revoked (may not precede every onAssigned). */
  onRevoking(): void;
  /** The member (re)joined and got these partitions; nothing is fetched for it before this call. */
  onAssigned(assignment: Assignment): void;
  /**
   * The member failed; with `restarting` it rejoins by itself (onAssigned follows), otherwise it
   * is finished and its owner replaces it with a new member.
   */
  onCrash(error: Error, restarting: boolean): void;
}

export interface MemberSettings {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handlers: MemberHandlers;
}

/** One member of a consumer group: fetches assigned partitions from the committed offsets. */
export interface GroupMember {
  /** Join the group; resolves after the first assignment, rejects if none comes in `timeoutMs`. */
  start(timeoutMs: number): Promise<void>;
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** Commit offsets (with metadata) under the member's current generation; rejects if stale. */
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  /** Stop fetching and leave the group. Idempotent. */
  stop(): Promise<void>;
}

export interface KafkaDriver {
  connect(): Promise<void>;
  /** Produce with acks=all; resolves when every record is durably stored. */
  send(records: readonly OutgoingRecord[], timeoutMs: number): Promise<void>;
  /**
   * Create the topics that do not exist yet (existing ones are left as they are); resolves with
   * the created ones. A name the broker refuses rejects with a TopicNameRefusedError.
   */
  createTopics(specs: readonly TopicSpec[]): Promise<string[]>;
  deleteTopics(topics: readonly string[]): Promise<void>;
  /** The largest record batch the broker accepts on `topic` (its `max.message.bytes`), if it can be read. */
  topicMaxMessageBytes(topic: string): Promise<number | undefined>;
  /** The group's committed offsets (with metadata) for every partition of `topics`. */
  committedOffsets(groupId: string, topics: readonly string[]): Promise<PartitionOffset[]>;
  /** The high watermark (next offset to be written) of every partition of `topic`. */
  latestOffsets(topic: string): Promise<{ partition: number; offset: string }[]>;
  /** Whether the group has members right now. */
  groupHasMembers(groupId: string): Promise<boolean>;
  /** Which of `groupIds` have members right now (one request). */
  groupsWithMembers(groupIds: readonly string[]): Promise<Set<string>>;
  /** Every topic of the cluster (a metadata request that creates nothing). */
  listTopics(): Promise<string[]>;
  /** Every consumer group id of the cluster. */
  listGroupIds(): Promise<string[]>;
  /** First and next offsets of every partition of an existing `topic`. */
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /** Delete a consumer group with no members (its committed offsets); never one with members. */
  deleteGroup(groupId: string): Promise<GroupDeletion>;
  /** One cheap round trip to the cluster (metadata), which also re-dials a lost connection. */
  probe(): Promise<void>;
  /** The cluster as the broker describes it (id, brokers, controller). Kafka has no version query. */
  describeCluster(): Promise<{ readonly clusterId: string; readonly brokers: number; readonly controller: number | null }>;
  /**
   * Commit offsets for a group that has no members, by joining it briefly. Used to
   * record where a new group starts.
   */
  commitAsTemporaryMember(groupId: string, topics: readonly string[], offsets: readonly PartitionOffset[], timeoutMs: number): Promise<void>;
  member(settings: MemberSettings): GroupMember;
  close(): Promise<void>;
}
