import type { Count, GroupInspection, TransportInspection } from '@omnibus/core';
import type { KafkaDriver, PartitionOffset, PartitionWatermarks } from './driver/driver.js';
import { frontierOf } from './subscription/partition.js';
import type { GroupNames } from './topology.js';

/** Split by what the transport does with a partition's records (see README "Inspection"). */
interface Tally {
  /** Main topic, not handed over yet. */
  waiting: bigint;
  /** Every topic of the group, handed over and not committed. */
  inFlight: bigint;
  /** Retry topic, not handed over yet. */
  delayedRetries: bigint;
  /** Delay topic, not handed over yet (this group's view of the topic's delayed publishes). */
  delayedPublishes: bigint;
  /** Main topic, not committed. */
  lag: bigint;
}

export interface InspectDeps {
  readonly driver: KafkaDriver;
  /** The Kafka names of (topic, group). */
  readonly names: (topic: string, group: string) => GroupNames;
  /** The Kafka topic of `topic`. */
  readonly mainTopic: (topic: string) => string;
  /** The Kafka group id prefix of every group of `topic`: `<prefix><topic>.`. */
  readonly groupIdPrefix: (topic: string) => string;
}

const estimate = (value: bigint): Count => ({ value: Number(value), exact: false });
const ZERO: Count = { value: 0, exact: true };
const nothing = (group: string): GroupInspection => ({ group, waiting: ZERO, inFlight: ZERO, delayed: ZERO, lag: ZERO });

/**
 * Depth and lag of `topic` from the broker: its log watermarks (ListOffsets) against each
 * group's committed offsets and commit metadata (OffsetFetch), and whether the group has
 * members (DescribeGroups). Creates nothing: topics are looked up in the cluster's list first
 * (asking for an unknown topic could have the broker create it), and an unknown group has
 * no committed offsets and zero counts.
 */
export async function inspectTopic(deps: InspectDeps, topic: string, group?: string): Promise<TransportInspection> {
  const { driver } = deps;
  const [existing, groups] = await Promise.all([driver.listTopics().then((topics) => new Set(topics)), group === undefined ? groupsOf(deps, topic) : Promise.resolve([group])]);
  const all = groups.map((name) => ({ group: name, names: deps.names(topic, name) }));
  const main = deps.mainTopic(topic);
  if (!existing.has(main)) return { topic, readAt: new Date(), delayed: ZERO, groups: groups.map(nothing) };

  const shared = [main, all[0]?.names.delay].filter((name): name is string => name !== undefined && existing.has(name));
  const perGroupTopics = (names: GroupNames) => [...shared, ...(existing.has(names.retry) ? [names.retry] : [])];
  const logs = new Map<string, PartitionWatermarks[]>();
  const [, committed, active] = await Promise.all([
    Promise.all([...new Set([...shared, ...all.map(({ names }) => names.retry).filter((name) => existing.has(name))])].map(async (name) => logs.set(name, await driver.watermarks(name)))),
    Promise.all(all.map(({ names }) => driver.committedOffsets(names.groupId, perGroupTopics(names)))),
    driver.groupsWithMembers(all.map(({ names }) => names.groupId)),
  ]);
  const readAt = new Date();

  let delayed: bigint | undefined;
  const inspected: GroupInspection[] = all.map(({ group: name, names }, index) => {
    const offsets = committed[index] ?? [];
    const isActive = active.has(names.groupId);
    // Kafka keeps nothing for a group that does not exist: no committed offset, no member.
    if (!isActive && !offsets.some((entry) => entry.topic === main && BigInt(entry.offset) >= 0n)) return nothing(name);
    const tally = tallyGroup(names, offsets, logs, isActive);
    if (delayed === undefined || tally.delayedPublishes > delayed) delayed = tally.delayedPublishes;
    return { group: name, waiting: estimate(tally.waiting), inFlight: estimate(tally.inFlight), delayed: estimate(tally.delayedRetries), lag: estimate(tally.lag) };
  });
  return { topic, readAt, delayed: delayed === undefined ? ZERO : estimate(delayed), groups: inspected };
}

/** The groups of `topic` the cluster knows: ids `<prefix><topic>.<group>` where `<group>` has no dot. */
async function groupsOf(deps: InspectDeps, topic: string): Promise<string[]> {
  const prefix = deps.groupIdPrefix(topic);
  return (await deps.driver.listGroupIds())
    .filter((id) => id.startsWith(prefix) && id.length > prefix.length && !id.slice(prefix.length).includes('.'))
    .map((id) => id.slice(prefix.length))
    .sort();
}

/**
 * Per partition: C = the committed offset (the lowest not settled; the log's start when the group
 * has none there: members read such partitions from the beginning), H = the delivery frontier the
 * commit metadata records (one past the highest offset handed over; C when none), E = the log end.
 * C..H is in flight, H..E not handed over yet. A group with no member holds nothing: H = C.
 */
function tallyGroup(names: GroupNames, offsets: readonly PartitionOffset[], logs: ReadonlyMap<string, PartitionWatermarks[]>, active: boolean): Tally {
  const tally: Tally = { waiting: 0n, inFlight: 0n, delayedRetries: 0n, delayedPublishes: 0n, lag: 0n };
  const byPartition = new Map(offsets.map((entry) => [`${entry.topic}:${entry.partition}`, entry]));
  for (const [kafkaTopic, partitions] of logs) {
    const role = kafkaTopic === names.main ? 'main' : kafkaTopic === names.delay ? 'delay' : kafkaTopic === names.retry ? 'retry' : undefined;
    if (role === undefined) continue;
    for (const { partition, low, high } of partitions) {
      const start = BigInt(low);
      const end = BigInt(high);
      const entry = byPartition.get(`${kafkaTopic}:${partition}`);
      const offset = entry === undefined ? -1n : BigInt(entry.offset);
      const committed = clamp(offset < 0n ? start : offset, start, end);
      const frontier = active ? clamp(frontierOf(entry?.metadata ?? null) ?? committed, committed, end) : committed;
      tally.inFlight += frontier - committed;
      const notHanded = end - frontier;
      if (role === 'main') {
        tally.waiting += notHanded;
        tally.lag += end - committed;
      } else if (role === 'retry') tally.delayedRetries += notHanded;
      else tally.delayedPublishes += notHanded;
    }
  }
  return tally;
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  return value < low ? low : value > high ? high : value;
}
