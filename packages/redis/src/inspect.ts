import type { Count, GroupInspection, TransportInspection } from '@omnibus/core';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/**
 * Entries a counting script reads per run. What Redis reports itself (XINFO GROUPS lag and
 * pending, XLEN) costs O(1) per group; what it does not (entries of the scheduled set per
 * target; entries after a group's position when Redis cannot give the lag) is counted by
 * reading the entries, this many per script run, so Redis is never blocked long. A figure that
 * took more than one run is marked approximate: entries moved between the runs.
 */
export const COUNT_CHUNK = 1_000;

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
  const reply = (await client.omnibusInspect(topicKey, keys.scheduled, retryPrefix, COUNT_CHUNK, ...(group === undefined ? [] : [group]))) as [GroupRow[], number[], number];
  const [rows, firstCounts, scheduledSize] = reply;
  const targets = [topicKey, ...rows.map((row) => retryPrefix + String(row[0]))];
  const scheduled = await countScheduled(client, keys.scheduled, targets, firstCounts.map(Number), Number(scheduledSize));
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
  return { topic, readAt: new Date(), delayed: scheduled[0], groups };
}

/** Scheduled entries per target: the first chunk (read with the rest), then chunk by chunk. */
async function countScheduled(client: ScriptedRedis, key: string, targets: readonly string[], first: readonly number[], size: number): Promise<Count[]> {
  const counts = targets.map((_target, index) => first[index] ?? 0);
  if (size <= COUNT_CHUNK) return counts.map(exactly);
  for (let start = COUNT_CHUNK; ; start += COUNT_CHUNK) {
    const [chunk, read] = (await client.omnibusCountScheduled(key, start, COUNT_CHUNK, ...targets)) as [number[], number];
    chunk.forEach((value, index) => (counts[index] = (counts[index] ?? 0) + Number(value)));
    if (Number(read) < COUNT_CHUNK) break;
  }
  return counts.map((value) => ({ value, exact: false }));
}

/** Go on counting a stream's entries after `seen`, chunk by chunk, on top of `counted`. */
async function countAfter(client: ScriptedRedis, stream: string, seen: string, counted: number): Promise<Count> {
  let total = counted;
  let after = seen;
  for (;;) {
    const [read, last] = (await client.omnibusCountAfter(stream, after, COUNT_CHUNK)) as [number, string];
    total += Number(read);
    if (Number(read) < COUNT_CHUNK || !last) break;
    after = String(last);
  }
  return { value: total, exact: false };
}
