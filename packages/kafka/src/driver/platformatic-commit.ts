import { Consumer, offsetCommitV8, type Admin, type Connection } from '@platformatic/kafka';
import type { PartitionOffset } from './driver.js';
import { findGroupCoordinator, nodeConnection } from './platformatic-admin.js';

/** Who commits: a member of a generation, or (generation -1, no member id) a tool outside a group with no members. */
export interface Committer {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
}

/** A connection to the group's coordinator, through the client's own pool. */
export async function coordinatorConnection(client: Admin | Consumer, groupId: string): Promise<Connection> {
  const nodeId = client instanceof Consumer ? await client.findGroupCoordinator() : await findGroupCoordinator(client, groupId);
  return nodeConnection(client, nodeId);
}

/**
 * OffsetCommit (v8, Kafka 2.3 and later) with metadata, under exactly the given generation.
 * The consumer's own commit() sends no metadata and, when the generation is stale, rejoins
 * the group and commits again under the new one: that would commit offsets of partitions
 * the member no longer holds. A stale commit must fail instead (ILLEGAL_GENERATION…).
 */
export async function commitOffsets(connection: Connection, committer: Committer, offsets: readonly PartitionOffset[]): Promise<void> {
  const topics = new Map<string, offsetCommitV8.OffsetCommitRequestTopic>();
  for (const { topic, partition, offset, metadata } of offsets) {
    let entry = topics.get(topic);
    if (!entry) topics.set(topic, (entry = { name: topic, partitions: [] }));
    entry.partitions.push({ partitionIndex: partition, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: metadata });
  }
  if (topics.size === 0) return;
  await offsetCommitV8.api.async(connection, committer.groupId, committer.generationId, committer.memberId, null, [...topics.values()]);
}
