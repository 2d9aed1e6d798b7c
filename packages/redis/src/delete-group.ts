import { scheduledTargetPattern } from './codec.js';
import { COUNT_CHUNK, COUNT_CHUNK_BYTES } from './inspect.js';
import type { Keys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

/** What deleting a group removed (for tests and logs; deleting again removes nothing). */
export interface DeletedGroup {
  /** The group existed on the topic stream (its position and pending list are gone). */
  readonly topicGroup: boolean;
  /** The group's redelivery stream existed (deleted with its entries). */
  readonly redeliveryStream: boolean;
  /** Delayed retries of the group removed from the scheduled set (and from its invalid set). */
  readonly delayedRetries: number;
}

/**
 * Remove `group` of `topic` and everything kept for it only: the group on the topic stream, its
 * redelivery stream, and its delayed retries in the scheduled set shared by every topic and group
 * (those whose target is the group's redelivery stream). Never the topic stream itself, its
 * entries, another group, or a delayed publish of the topic. Idempotent.
 *
 * Order matters: the group goes first (one script, so no consumer reads it half-deleted); then the
 * scheduled set is scanned in bounded steps. A delayed retry that comes due during the scan is
 * moved by some scheduler into the redelivery stream, which recreates that stream: it is deleted
 * once more after the scan, when no delayed retry of the group is left to move. ZSCAN returns every
 * member present for the whole scan; a retry scheduled during it could only come from a consumer
 * of the group still running (see README "Deleting a group").
 */
export async function deleteGroup(client: ScriptedRedis, keys: Keys, topic: string, group: string): Promise<DeletedGroup> {
  const topicKey = keys.topic(topic);
  const retryKey = keys.retry(topic, group);
  const [topicGroup, redeliveryStream] = await client.omnibusDestroyGroup(topicKey, retryKey, group);
  let delayedRetries = 0;
  for (const set of [keys.scheduled, keys.invalidScheduled]) delayedRetries += await unschedule(client, set, retryKey);
  await client.del(retryKey);
  return { topicGroup: Number(topicGroup) === 1, redeliveryStream: Number(redeliveryStream) === 1, delayedRetries };
}

/** Remove every member of a scheduled set whose target is `target`; how many were removed. */
async function unschedule(client: ScriptedRedis, set: string, target: string): Promise<number> {
  const pattern = scheduledTargetPattern(target);
  let removed = 0;
  let cursor = '0';
  do {
    const [next, count] = await client.omnibusUnschedule(set, cursor, pattern, target, COUNT_CHUNK, COUNT_CHUNK_BYTES);
    removed += Number(count);
    cursor = String(next);
  } while (cursor !== '0');
  return removed;
}
