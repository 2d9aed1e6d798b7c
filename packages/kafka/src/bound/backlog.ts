import type { KafkaDriver, PartitionOffset, PartitionWatermarks } from '../driver/driver.js';

/** What a bounded topic keeps waiting, as the broker tells it now. */
export interface Backlog {
  /** The largest backlog over the topic's groups (0 for a topic without groups: it keeps nothing). */
  readonly messages: number;
  /** The group with that backlog (for the refusal's message). */
  readonly group: string | undefined;
}

export interface BacklogDeps {
  readonly driver: KafkaDriver;
  /** The Kafka topic of the Omnibus topic, and its delay topic (shared by every group). */
  readonly main: string;
  readonly delay: string;
  /** Every group id of the topic starts with it: `<prefix><topic>.`. */
  readonly groupIdPrefix: string;
  /** How long the list of groups and topics is reused (ListGroups lists the whole cluster). */
  readonly directoryTtlMs: number;
}

/** The groups of the topic and which of its topics exist, as of `readAt`. */
interface Directory {
  readonly readAt: number;
  readonly groupIds: readonly string[];
  readonly mainExists: boolean;
  readonly delayExists: boolean;
}

/**
 * Reads a bounded topic's backlog: per group, the sum over partitions of the main and delay
 * topics of (log end - committed offset), as `inspect` counts lag; the bound applies to the
 * largest. A partition the group has no offset for counts from the log's start (members read
 * it from the beginning). Retry topics are not counted: a retry never re-enters the main
 * topic, so a full topic cannot refuse it. Costs one ListOffsets pair per topic and one
 * OffsetFetch per group, in parallel, plus the directory every `directoryTtlMs`.
 */
export class BacklogReader {
  private directory: Directory | undefined;
  private refreshing: Promise<Directory> | undefined;

  constructor(private readonly deps: BacklogDeps) {}

  /** A group of the topic was just made: list the groups again on the next read. */
  forget(): void {
    this.directory = undefined;
  }

  async read(): Promise<Backlog> {
    const { driver, main, delay } = this.deps;
    const directory = await this.currentDirectory();
    if (!directory.mainExists || directory.groupIds.length === 0) return { messages: 0, group: undefined };
    const topics = directory.delayExists ? [main, delay] : [main];
    const [logs, committed] = await Promise.all([
      Promise.all(topics.map(async (topic) => [topic, await driver.watermarks(topic)] as const)),
      Promise.all(directory.groupIds.map((groupId) => driver.committedOffsets(groupId, topics))),
    ]);
    let largest: Backlog = { messages: 0, group: undefined };
    directory.groupIds.forEach((groupId, index) => {
      const offsets = committed[index] ?? [];
      // A group exists once it has committed offsets on its main topic (Topology.ensureGroup); a deleted one has none.
      if (!offsets.some((entry) => entry.topic === main && BigInt(entry.offset) >= 0n)) return;
      const messages = Number(backlogOf(offsets, logs));
      if (messages > largest.messages) largest = { messages, group: groupId.slice(this.deps.groupIdPrefix.length) };
    });
    return largest;
  }

  private currentDirectory(): Promise<Directory> {
    const known = this.directory;
    if (known && Date.now() - known.readAt < this.deps.directoryTtlMs) return Promise.resolve(known);
    this.refreshing ??= this.readDirectory().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readDirectory(): Promise<Directory> {
    const { driver, main, delay, groupIdPrefix } = this.deps;
    const readAt = Date.now();
    // Listed first: asking a broker for the offsets of a missing topic could have it create the topic.
    const [topics, groupIds] = await Promise.all([driver.listTopics(), driver.listGroupIds()]);
    const existing = new Set(topics);
    const directory: Directory = {
      readAt,
      // `<prefix><topic>.<group>` where the group has no dot (core's rule): not a longer topic's group.
      groupIds: groupIds.filter((id) => id.startsWith(groupIdPrefix) && id.length > groupIdPrefix.length && !id.slice(groupIdPrefix.length).includes('.')),
      mainExists: existing.has(main),
      delayExists: existing.has(delay),
    };
    this.directory = directory;
    return directory;
  }
}

function backlogOf(offsets: readonly PartitionOffset[], logs: readonly (readonly [string, readonly PartitionWatermarks[]])[]): bigint {
  const byPartition = new Map(offsets.map((entry) => [`${entry.topic}:${entry.partition}`, BigInt(entry.offset)]));
  let total = 0n;
  for (const [topic, partitions] of logs) {
    for (const { partition, low, high } of partitions) {
      const start = BigInt(low);
      const end = BigInt(high);
      const offset = byPartition.get(`${topic}:${partition}`) ?? -1n;
      const committed = offset < start ? start : offset > end ? end : offset;
      total += end - committed;
    }
  }
  return total;
}
