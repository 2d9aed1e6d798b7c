import type { Redis } from 'ioredis';
import { isRedisError } from './connection.js';
import type { Keys } from './keys.js';

/** XGROUP CREATE … MKSTREAM; false when the group already existed (BUSYGROUP). */
export async function createGroup(client: Redis, stream: string, group: string, startId: string): Promise<boolean> {
  try {
    await client.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
    return true;
  } catch (error) {
    if (isRedisError(error, 'BUSYGROUP')) return false;
    throw error;
  }
}

/**
 * Make the group exist on the topic stream and on its own redelivery stream.
 * On the topic stream a new group starts at `$` (it receives what is published from now
 * on); an existing group keeps its position. The redelivery stream only ever holds this
 * group's entries, so its group starts at the beginning.
 */
export async function ensureGroups(client: Redis, keys: Keys, topic: string, group: string, topicStart = '$'): Promise<void> {
  await createGroup(client, keys.topic(topic), group, topicStart);
  await createGroup(client, keys.retry(topic, group), group, '0');
}

/** The group's last-delivered-id on a stream, or undefined when unknown. */
export async function groupPosition(client: Redis, stream: string, group: string): Promise<string | undefined> {
  const groups = (await client.xinfo('GROUPS', stream)) as unknown[];
  for (const raw of groups) {
    if (!Array.isArray(raw)) continue;
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < raw.length; i += 2) info.set(String(raw[i]), raw[i + 1]);
    if (info.get('name') === group) {
      const last = info.get('last-delivered-id');
      return typeof last === 'string' ? last : undefined;
    }
  }
  return undefined;
}

/** Compare two stream ids (`ms-seq`) numerically. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const byMs = BigInt(am) - BigInt(bm);
  if (byMs !== 0n) return byMs < 0n ? -1 : 1;
  const bySeq = BigInt(as) - BigInt(bs);
  return bySeq === 0n ? 0 : bySeq < 0n ? -1 : 1;
}
