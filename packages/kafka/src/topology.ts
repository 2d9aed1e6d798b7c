import { assertGroupName, ConfigError, type Logger } from '@omnibus/core';
import { TopicNameRefusedError, type KafkaDriver, type PartitionOffset } from './driver/driver.js';
import { retrying } from './errors.js';
import { foldTopicName, type Naming } from './naming.js';

export interface TopologySettings {
  readonly createTopics: boolean;
  readonly partitions: number;
  readonly replicationFactor?: number | undefined;
  readonly joinTimeoutMs: number;
}

/** The Kafka names behind one Omnibus (topic, group). */
export interface GroupNames {
  readonly groupId: string;
  readonly main: string;
  readonly delay: string;
  readonly retry: string;
}

const START_ATTEMPTS = 3;

/**
 * Creates topics on demand and durable groups.
 *
 * Kafka keeps a group's position as committed offsets, so a group exists once it
 * has committed offsets on its main topic. ensureGroup creates the main and delay
 * topics and, for a new group, commits their current end: the group then gets
 * every message published after that moment, consumer running or not, and nothing
 * older. Partitions without a committed offset in an existing group came later
 * (retry topic, added partitions) and are read from the beginning (members use
 * `fromBeginning`), so nothing published after the group's creation is skipped.
 */
export class Topology {
  private readonly knownTopics = new Set<string>();
  /** Kafka's folded form (`.` = `_`) of every topic known or being created, to the name itself. */
  private readonly byFoldedName = new Map<string, string>();
  private readonly creating = new Map<string, Promise<string[]>>();
  private readonly groups = new Map<string, Promise<void>>();

  constructor(
    private readonly driver: KafkaDriver,
    private readonly naming: Naming,
    private readonly settings: TopologySettings,
    private readonly logger: Logger,
  ) {}

  names(topic: string, group: string): GroupNames {
    // Core checks it at subscribe; a caller of the transport itself gets the same rule (no dots:
    // the group id and retry topic name depend on it). naming.topic checks the topic's first character.
    assertGroupName(group);
    const { naming } = this;
    return { groupId: naming.groupId(topic, group), main: naming.topic(topic), delay: naming.delayTopic(topic), retry: naming.retryTopic(topic, group) };
  }

  /**
   * Create the missing topics, in one request. Concurrent callers share the creation.
   * Resolves with the topics that did not exist before (so they are empty but for
   * what was published since).
   */
  async ensureTopics(topics: readonly string[]): Promise<string[]> {
    const missing = [...new Set(topics)].filter((topic) => !this.knownTopics.has(topic));
    if (missing.length === 0 || !this.settings.createTopics) return [];
    // Kafka would refuse it anyway: say so without asking.
    for (const topic of missing) {
      const twin = this.byFoldedName.get(foldTopicName(topic));
      if (twin !== undefined && twin !== topic) throw this.collision(topic, twin);
    }
    const waits = new Set(missing.flatMap((topic) => this.creating.get(topic) ?? []));
    const toCreate = missing.filter((topic) => !this.creating.has(topic));
    if (toCreate.length) {
      const specs = toCreate.map((topic) => ({ topic, partitions: this.settings.partitions, replicationFactor: this.settings.replicationFactor }));
      const creation = retrying(() => this.driver.createTopics(specs)).catch((error: unknown) => {
        throw error instanceof TopicNameRefusedError ? this.collision(error.topic, error.collidesWith, error) : error;
      });
      for (const topic of toCreate) this.creating.set(topic, creation);
      creation.then(
        (created) => {
          for (const topic of toCreate) {
            this.knownTopics.add(topic);
            this.byFoldedName.set(foldTopicName(topic), topic);
          }
          if (created.length) this.logger.debug({ topics: created }, 'kafka: topics created');
        },
        () => {},
      );
      void creation.finally(() => toCreate.forEach((topic) => this.creating.delete(topic))).catch(() => {});
      waits.add(creation);
    }
    const created = (await Promise.all(waits)).flat();
    return created.filter((topic) => missing.includes(topic));
  }

  /** The ConfigError for a topic Kafka will not create next to `twin` (same name but for `.` and `_`). */
  private collision(topic: string, twin: string | undefined, cause?: unknown): ConfigError {
    const { naming } = this;
    const what = naming.describeTopic(topic);
    if (twin === undefined) {
      return new ConfigError(
        'topic',
        `Kafka refused to create ${what}: an existing topic has the same name but for "." and "_", which Kafka treats alike (or the broker does not accept the name); rename the topic`,
        { cause },
      );
    }
    return new ConfigError(
      'topic',
      `${what} cannot be used next to ${naming.describeTopic(twin)}: Kafka treats "." and "_" in topic names alike and refuses a topic whose name differs from an existing one only there; rename one of them`,
      { cause },
    );
  }

  /** The group was deleted with its retry topic: the next ensureGroup / subscribe makes both again. */
  forget(names: GroupNames): void {
    this.groups.delete(names.groupId);
    this.knownTopics.delete(names.retry);
    if (this.byFoldedName.get(foldTopicName(names.retry)) === names.retry) this.byFoldedName.delete(foldTopicName(names.retry));
  }

  /** Make (topic, group) durable: its main and delay topics exist and its starting offsets are committed. Idempotent, cached. */
  ensureGroup(names: GroupNames): Promise<void> {
    let ensured = this.groups.get(names.groupId);
    if (!ensured) {
      ensured = this.createGroup(names);
      this.groups.set(names.groupId, ensured);
      // A failure is not cached: the next call tries again.
      ensured.catch(() => this.groups.delete(names.groupId));
    }
    return ensured;
  }

  private async createGroup(names: GroupNames): Promise<void> {
    const topics = [names.main, names.delay];
    // The main topic first: a name Kafka refuses leaves no delay topic behind.
    const created = new Set([...(await this.ensureTopics([names.main])), ...(await this.ensureTopics([names.delay]))]);
    let lastError: unknown;
    for (let attempt = 1; attempt <= START_ATTEMPTS + 1; attempt += 1) {
      const committed = await retrying(() => this.driver.committedOffsets(names.groupId, topics));
      if (committed.some((entry) => entry.topic === names.main && BigInt(entry.offset) >= 0n)) return;
      // Someone is starting this group right now; a group in use is never joined from here.
      if (await retrying(() => this.driver.groupHasMembers(names.groupId))) {
        this.logger.debug({ groupId: names.groupId }, 'kafka: new group already has members, leaving its offsets to them');
        return;
      }
      if (attempt > START_ATTEMPTS) break;
      const start = await this.startingOffsets(committed, created);
      try {
        await this.driver.commitAsTemporaryMember(names.groupId, topics, start, this.settings.joinTimeoutMs);
        this.logger.debug({ groupId: names.groupId, partitions: start.length }, 'kafka: group created at the end of its topics');
      } catch (error) {
        // Another process may be creating the same group: look again.
        lastError = error;
        this.logger.debug({ groupId: names.groupId, attempt, err: error }, 'kafka: committing starting offsets failed, retrying');
      }
    }
    if (lastError instanceof Error) throw lastError;
    throw new Error(`the starting offsets of group "${names.groupId}" could not be committed`, { cause: lastError });
  }

  /** The end of each partition now; a topic created by this very call starts at 0 (no lookup, no leader race). */
  private async startingOffsets(partitions: readonly PartitionOffset[], created: ReadonlySet<string>): Promise<PartitionOffset[]> {
    const topics = [...new Set(partitions.map((entry) => entry.topic))].filter((topic) => !created.has(topic));
    const latest = new Map<string, string>();
    await Promise.all(
      topics.map(async (topic) => {
        for (const { partition, offset } of await retrying(() => this.driver.latestOffsets(topic))) latest.set(`${topic}:${partition}`, offset);
      }),
    );
    return partitions.map(({ topic, partition }) => ({ topic, partition, offset: latest.get(`${topic}:${partition}`) ?? '0', metadata: null }));
  }
}
