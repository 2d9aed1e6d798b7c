import { afterEach, beforeEach, expect, it } from 'vitest';
import { ConfigError, type Delivery } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import type { Redis } from 'ioredis';
import { encodeScheduled, entryFields } from '../src/codec.js';
import { COUNT_CHUNK } from '../src/inspect.js';
import { Keys } from '../src/keys.js';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

/** The target stream of a scheduled entry (the second netstring part, see codec.ts). */
function targetOf(member: Buffer): string {
  let at = 0;
  const parts: string[] = [];
  while (parts.length < 2) {
    const colon = member.indexOf(':', at);
    const length = Number(member.subarray(at, colon).toString('ascii'));
    parts.push(member.subarray(colon + 1, colon + 1 + length).toString('utf8'));
    at = colon + 1 + length;
  }
  return parts[1] as string;
}

/** The targets of every member of a scheduled set, sorted. */
async function targets(redis: Redis, set: string): Promise<string[]> {
  return (await redis.zrangeBuffer(set, 0, -1)).map(targetOf).sort();
}

async function groupNames(redis: Redis, stream: string): Promise<string[]> {
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  return groups.map((group) => String(group[group.indexOf('name') + 1])).sort();
}

/** A scheduled entry for `target`, due in an hour, written as the transport writes one. */
async function scheduleRaw(redis: Redis, set: string, target: string, id: string): Promise<void> {
  await redis.zadd(set, Date.now() + 3_600_000, encodeScheduled(target, entryFields(message('any', id))));
}

describeWithBroker('redis', 'redis transport: deleteGroup', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it("removes the group's position, pending entries, redelivery stream and delayed retries, and nothing of the topic or another group", async () => {
    const transport = harness.transport({ claimIdleMs: 60_000 });
    const redis = harness.redis();
    const { keys } = harness;
    const topicKey = keys.topic('shared');
    await transport.ensureGroup('shared', 'kept');

    // The temporary group: m1 waits for a delayed retry, m2 is held and released into its
    // redelivery stream when the subscription closes, m3 is acked.
    const temp = new Collector((delivery: Delivery) => {
      if (delivery.message.id === 'm1') return delivery.nack({ delayMs: 3_600_000 });
      if (delivery.message.id === 'm2') return undefined;
      return delivery.ack();
    });
    const tempSubscription = await transport.subscribe(temp.params('shared', 'temp', 3));
    // The other group: m1 waits for a delayed retry of its own, the rest is acked.
    const kept = new Collector((delivery: Delivery) => (delivery.message.id === 'm1' && delivery.attempt === 1 ? delivery.nack({ delayMs: 3_600_000 }) : delivery.ack()));
    await transport.subscribe(kept.params('shared', 'kept'));

    await transport.publish([message('shared', 'm1'), message('shared', 'm2'), message('shared', 'm3'), message('shared', 'later', { delayMs: 3_600_000 })]);
    await temp.waitForIds(['m1', 'm2', 'm3']);
    await kept.waitForIds(['m1', 'm2', 'm3']);
    await tempSubscription.close();
    // A consumer of the group that died holding an entry (its pending list on the topic stream).
    await transport.publish([message('shared', 'm4')]);
    await kept.waitForIds(['m4']);
    await redis.xreadgroup('GROUP', 'temp', 'crashed', 'COUNT', 1, 'STREAMS', topicKey, '>');
    // Entries the scheduler could not move, one of each group.
    await scheduleRaw(redis, keys.invalidScheduled, keys.retry('shared', 'temp'), 'bad-temp');
    await scheduleRaw(redis, keys.invalidScheduled, keys.retry('shared', 'kept'), 'bad-kept');

    // What there is before: the group on the topic stream, its redelivery stream, its delayed retry.
    expect(await groupNames(redis, topicKey)).toEqual(['kept', 'temp']);
    expect(await redis.xlen(keys.retry('shared', 'temp'))).toBe(1);
    expect(await targets(redis, keys.scheduled)).toEqual([keys.retry('shared', 'kept'), keys.retry('shared', 'temp'), topicKey].sort());
    const topicLength = await redis.xlen(topicKey);

    await transport.deleteGroup('shared', 'temp');

    expect(await groupNames(redis, topicKey)).toEqual(['kept']);
    expect(await redis.exists(keys.retry('shared', 'temp'))).toBe(0);
    expect(await targets(redis, keys.scheduled)).toEqual([keys.retry('shared', 'kept'), topicKey].sort());
    expect(await targets(redis, keys.invalidScheduled)).toEqual([keys.retry('shared', 'kept')]);
    expect(await redis.xlen(topicKey)).toBe(topicLength);
    const remaining = [keys.invalidScheduled, keys.scheduled, keys.retry('shared', 'kept'), topicKey].sort();
    expect((await redis.keys(`${harness.prefix}*`)).sort()).toEqual(remaining);

    // Idempotent: deleting again (and deleting what never existed) changes nothing.
    await transport.deleteGroup('shared', 'temp');
    await transport.deleteGroup('shared', 'never-existed');
    await transport.deleteGroup('never-published', 'temp');
    expect((await redis.keys(`${harness.prefix}*`)).sort()).toEqual(remaining);
    expect(await groupNames(redis, topicKey)).toEqual(['kept']);

    // The other group still gets what is published, and a group of the old name starts afresh.
    await transport.publish([message('shared', 'after')]);
    await kept.waitForIds(['after']);
    await transport.ensureGroup('shared', 'temp');
    const fresh = (await transport.inspect('shared', 'temp')).groups[0];
    expect(fresh && { waiting: fresh.waiting?.value, inFlight: fresh.inFlight?.value, delayed: fresh.delayed?.value }).toEqual({ waiting: 0, inFlight: 0, delayed: 0 });
    expect(temp.deliveries.map((d) => d.message.id).sort()).toEqual(['m1', 'm2', 'm3']);
  });

  it(`removes delayed retries among many entries of other groups (past ${COUNT_CHUNK} per run) under a prefix with glob characters`, async () => {
    const prefix = `${harness.prefix}g[l]o*b?\\:`;
    const keys = new Keys(prefix);
    const transport = harness.transport({ prefix });
    const redis = harness.redis();
    await transport.ensureGroup('crowd', 'temp');
    await transport.ensureGroup('crowd', 'kept');
    const others = 2 * COUNT_CHUNK + 500;
    const pipeline = redis.pipeline();
    let temps = 0;
    for (let i = 0; i < others; i += 1) {
      pipeline.zadd(keys.scheduled, Date.now() + 3_600_000, encodeScheduled(i % 2 ? keys.retry('crowd', 'kept') : keys.retry('crowd', 'tempo'), entryFields(message('crowd', `o-${i}`))));
      if (i % 500 === 0) {
        pipeline.zadd(keys.scheduled, Date.now() + 3_600_000, encodeScheduled(keys.retry('crowd', 'temp'), entryFields(message('crowd', `t-${i}`))));
        temps += 1;
      }
    }
    await pipeline.exec();
    expect((await targets(redis, keys.scheduled)).filter((target) => target === keys.retry('crowd', 'temp'))).toHaveLength(temps);
    expect(temps).toBe(5);

    await transport.deleteGroup('crowd', 'temp');

    const left = await targets(redis, keys.scheduled);
    expect(left.filter((target) => target === keys.retry('crowd', 'temp'))).toHaveLength(0);
    expect(left).toHaveLength(others);
    expect(await groupNames(redis, keys.topic('crowd'))).toEqual(['kept']);
  });

  it('refuses a group one of its own subscriptions still reads, and names it could not map, before deleting anything', async () => {
    const transport = harness.transport();
    const redis = harness.redis();
    const collector = new Collector();
    const subscription = await transport.subscribe(collector.params('busy', 'reader'));
    const refused = transport.deleteGroup('busy', 'reader');
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toMatchObject({ field: 'group' });
    expect(await groupNames(redis, harness.keys.topic('busy'))).toEqual(['reader']);
    await transport.publish([message('busy', 'still-read')]);
    await collector.waitForIds(['still-read']);

    await expect(transport.deleteGroup('a:b', 'g')).rejects.toMatchObject({ name: 'ConfigError', field: 'topic' });
    await expect(transport.deleteGroup('busy', 'g:h')).rejects.toMatchObject({ name: 'ConfigError', field: 'group' });

    await subscription.close();
    await transport.deleteGroup('busy', 'reader');
    expect(await groupNames(redis, harness.keys.topic('busy'))).toEqual([]);
  });
});
