import type { Count, GroupInspection, TransportInspection } from '@omnibus/core';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * What one run of a counting script may read. What Redis reports itself (XINFO GROUPS lag and
 * pending, XLEN) costs O(1) per group; what it does not (the scheduled set's entries per target;
 * the entries after a group's position when Redis cannot give the lag) is counted by reading the
 * entries, at most this many, or this many bytes of them, per script run, so Redis is never
 * blocked long. A figure that took more than one run is approximate: entries moved in between.
 */
export const COUNT_CHUNK = 1_000;
export const COUNT_CHUNK_BYTES = 4 * 1024 * 1024;

/** One group as the inspect script returns it (see INSPECT in scripts.ts). */
type GroupRow = [name: string, known: number, lag: number, complete: number, seen: string, pending: number, redeliveryWaiting: number, redeliveryPending: number];

const exactly = (value: number): Count => ({ value, exact: true });

/**
 * Depth and lag of `topic` from Redis (see README "Inspection" for what each figure means).
 * Creates nothing: an unknown topic has no groups, an unknown group zero counts.
 */
export async function inspectTopic(client: ScriptedRedis, keys: Keys, topic: string, group?: string): Promise<TransportInspection> {
  const topicKey = keys.topic(topic);
  if (group !== undefined) keys.retry(topic, group);
  const retryPrefix = keys.retryPrefix(topic);
  const reply = (await client.omnibusInspect(topicKey, keys.scheduled, retryPrefix, COUNT_CHUNK, COUNT_CHUNK_BYTES, ...(group === undefined ? [] : [group]))) as [GroupRow[], number[], number, number];
  const readAt = new Date();
  const [rows, firstCounts, firstRead, finished] = reply;
  const targets = [topicKey, ...rows.map((row) => retryPrefix + String(row[0]))];
  const scheduled = Number(finished) === 1 ? firstCounts.map((value) => exactly(Number(value))) : await countScheduled(client, keys.scheduled, targets, firstCounts.map(Number), Number(firstRead));
  const groups: GroupInspection[] = [];
  for (const [index, row] of rows.entries()) {
    const [name, , lagValue, complete, seen, pending, redeliveryWaiting, redeliveryPending] = row;
    const lag = Number(complete) === 1 ? exactly(Number(lagValue)) : await countAfter(client, topicKey, String(seen), Number(lagValue));
    groups.push({
      group: String(name),
      waiting: { value: lag.value + Number(redeliveryWaiting), exact: lag.exact },
      inFlight: exactly(Number(pending) + Number(redeliveryPending)),
      delayed: scheduled[index + 1],
      lag,
    });
  }
  return { topic, readAt, delayed: scheduled[0], groups };
}

/** Go on counting the scheduled set per target after the first `read` members. */
async function countScheduled(client: ScriptedRedis, key: string, targets: readonly string[], first: readonly number[], read: number): Promise<Count[]> {
  const counts = targets.map((_target, index) => first[index] ?? 0);
  for (let start = read; ; ) {
    const [chunk, chunkRead, finished] = (await client.omnibusCountScheduled(key, start, COUNT_CHUNK, COUNT_CHUNK_BYTES, ...targets)) as [number[], number, number];
    chunk.forEach((value, index) => (counts[index] = (counts[index] ?? 0) + Number(value)));
    start += Number(chunkRead);
    if (Number(finished) === 1 || Number(chunkRead) === 0) break;
  }
  return counts.map((value) => ({ value, exact: false }));
}

/** Go on counting a stream's entries after `seen`, on top of `counted`. */
async function countAfter(client: ScriptedRedis, stream: string, seen: string, counted: number): Promise<Count> {
  let total = counted;
  for (let after = seen; ; ) {
    const [read, last, finished] = (await client.omnibusCountAfter(stream, after, COUNT_CHUNK, COUNT_CHUNK_BYTES)) as [number, string, number];
    total += Number(read);
    if (Number(finished) === 1 || Number(read) === 0) break;
    after = String(last);
  }
  return { value: total, exact: false };
}
