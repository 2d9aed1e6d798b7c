import { afterEach, beforeEach, expect, it } from 'vitest';
import { MessageTooLargeError } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import type { RedisSubscription } from '../src/subscription.js';
import { Collector } from './helpers/collector.js';
import { eventually } from './helpers/wait.js';
import { Harness, message } from './helpers/transports.js';

describeWithBroker('redis', 'redis transport: streams, groups and deliveries', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('stores a message as documented: one stream per topic, a group per group, readable fields', async () => {
    const transport = harness.transport();
    await transport.ensureGroup('layout', 'billing');
    await transport.publish([message('layout', 'm-1', { key: 'k', headers: { a: 'b' } })]);
    const redis = harness.redis();
    const [[entryId, fields]] = (await redis.xrange(harness.keys.topic('layout'), '-', '+')) as [[string, string[]]];
    expect(entryId).toMatch(/^\d+-\d+$/);
    expect(fields).toEqual(['id', 'm-1', 'key', 'k', 'headers', '{"a":"b"}', 'body', '{"id":"m-1"}']);
    const groups = (await redis.xinfo('GROUPS', harness.keys.topic('layout'))) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual(['billing']);
    expect(await redis.exists(harness.keys.retry('layout', 'billing'))).toBe(1);
  });

  it('round-trips every byte value, an empty body, an empty key and awkward header values', async () => {
    const transport = harness.transport();
    const collector = new Collector();
    await transport.subscribe(collector.params('fidelity', 'g', 4));
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const headers = { 'x-json': '{"a":[1,"\\u0000"]}', 'x-lines': 'a\r\nb\n\tc', 'x-emoji': '👍🏽 ünï', 'x-empty': '', 'x-colon': 'k: v' };
    await transport.publish([
      { id: 'bytes', topic: 'fidelity', key: 'ключ', headers, body: allBytes },
      { id: 'empty', topic: 'fidelity', key: '', headers: {}, body: new Uint8Array(0) },
    ]);
    const bytes = await collector.waitFor((d) => d.message.id === 'bytes', 'the binary message');
    const empty = await collector.waitFor((d) => d.message.id === 'empty', 'the empty message');
    expect([...bytes.message.body]).toEqual([...allBytes]);
    expect(bytes.message.headers).toEqual(headers);
    expect(bytes.message.key).toBe('ключ');
    expect(empty.message.body.byteLength).toBe(0);
    expect(empty.message.key).toBe('');
  });

  it('refuses a message larger than maxMessageBytes with a MessageTooLargeError and stores nothing', async () => {
    const transport = harness.transport();
    const huge = new Uint8Array(transport.capabilities.maxMessageBytes + 1);
    await expect(transport.publish([message('big', 'small'), message('big', 'huge', { body: huge })])).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(await harness.redis().exists(harness.keys.topic('big'))).toBe(0);
  });

  it('starts a new group at the end of the stream, but an ensured group at its own position', async () => {
    const transport = harness.transport();
    await transport.publish([message('positions', 'before-anything')]);
    await transport.ensureGroup('positions', 'ensured');
    await transport.publish([message('positions', 'after-ensure')]);

    const fresh = new Collector();
    await transport.subscribe(fresh.params('positions', 'fresh'));
    const ensured = new Collector();
    await transport.subscribe(ensured.params('positions', 'ensured'));
    await transport.publish([message('positions', 'marker')]);
    await fresh.waitFor((d) => d.message.id === 'marker', 'the marker (fresh group)');
    await ensured.waitFor((d) => d.message.id === 'marker', 'the marker (ensured group)');
    expect(fresh.ids()).toEqual(['marker']);
    expect(ensured.ids()).toEqual(['after-ensure', 'marker']);
  });

  it('moves a delayed publish even when its publisher closed before it was due', async () => {
    const consumer = harness.transport();
    const collector = new Collector();
    await consumer.subscribe(collector.params('later', 'g'));
    const publisher = harness.transport();
    const sentAt = Date.now();
    await publisher.publish([message('later', 'delayed', { delayMs: 400 }), message('later', 'now')]);
    await publisher.close();
    await collector.waitFor((d) => d.message.id === 'delayed', 'the delayed message');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(400 - 20);
    expect(collector.ids()).toEqual(['now', 'delayed']);
    expect(await harness.redis().zcard(harness.keys.scheduled)).toBe(0);
  });

  it('never has more unsettled deliveries than the concurrency, reading the topic and redelivery streams together', async () => {
    const transport = harness.transport();
    let unsettled = 0;
    let maxUnsettled = 0;
    const collector = new Collector(async (delivery) => {
      unsettled += 1;
      maxUnsettled = Math.max(maxUnsettled, unsettled);
      await new Promise((resolve) => setImmediate(resolve));
      unsettled -= 1;
      // Every message fails once: the redelivery stream fills while the topic stream still has entries.
      await (delivery.attempt === 1 ? delivery.nack() : delivery.ack());
    });
    await transport.subscribe(collector.params('bounded', 'g', 2));
    const ids = Array.from({ length: 30 }, (_, i) => `b-${i}`);
    await transport.publish(ids.map((id) => message('bounded', id)));
    await collector.waitFor(() => collector.deliveries.filter((d) => d.attempt === 2).length === 30, '30 second attempts');
    expect(maxUnsettled).toBeLessThanOrEqual(2);
    expect(collector.deliveries).toHaveLength(60);
  });

  it('stop() returns promptly despite a long block time, and nothing is handed over afterwards', async () => {
    const transport = harness.transport({ blockMs: 10_000 });
    const stopped = new Collector();
    const subscription = await transport.subscribe(stopped.params('stopping', 'g'));
    const started = Date.now();
    await subscription.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    await transport.publish([message('stopping', 'after-stop')]);
    const other = new Collector();
    await harness.transport().subscribe(other.params('stopping', 'g'));
    await other.waitFor((d) => d.message.id === 'after-stop', 'the message, at the other member');
    expect(stopped.deliveries).toHaveLength(0);
  });

  it('close() releases unsettled deliveries at once with attempt + 1 and leaves the group', async () => {
    const transport = harness.transport({ claimIdleMs: 60_000 });
    const holder = new Collector(() => undefined); // never settles
    const subscription = (await transport.subscribe(holder.params('release', 'g'))) as RedisSubscription;
    await transport.publish([message('release', 'held')]);
    await holder.waitFor((d) => d.message.id === 'held', 'the held message');
    const redis = harness.redis();
    const consumers = async () => ((await redis.xinfo('CONSUMERS', harness.keys.topic('release'), 'g')) as unknown[][]).map((c) => String(c[1]));
    expect(await consumers()).toContain(subscription.consumer);
    await subscription.close();
    expect(await consumers()).not.toContain(subscription.consumer);

    // Redelivered right away (the claim idle time is a minute), as a second attempt.
    const other = new Collector();
    await harness.transport({ claimIdleMs: 60_000 }).subscribe(other.params('release', 'g'));
    const again = await other.waitFor((d) => d.message.id === 'held', 'the released message', 5_000);
    expect(again.attempt).toBe(2);
    // The released delivery is settled: a late ack does nothing.
    await holder.deliveries[0]!.ack();
    expect(other.deliveries.filter((d) => d.message.id === 'held')).toHaveLength(1);
  });

  it('once another consumer owns an entry: an ack still marks it done (the handler finished), a nack is a no-op', async () => {
    // An ack is a plain XACK: it only ever follows a finished handler (or a dead-lettering), so
    // acking an entry claimed meanwhile marks a message that WAS processed as done; the new
    // owner's own settling then does nothing. A nack keeps the ownership check: the new owner
    // decides, and the message is neither re-added nor lost.
    const transport = harness.transport();
    const collector = new Collector(() => undefined);
    await transport.subscribe(collector.params('owner', 'g', 2));
    await transport.publish([message('owner', 'acked'), message('owner', 'nacked')]);
    const acked = await collector.waitFor((d) => d.message.id === 'acked', 'the first message');
    const nacked = await collector.waitFor((d) => d.message.id === 'nacked', 'the second message');
    const redis = harness.redis();
    const stream = harness.keys.topic('owner');
    const [[ackedId], [nackedId]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]], [string, string[]]];
    // Another member claims both (as if this one had been presumed dead).
    await redis.xclaim(stream, 'g', 'intruder', 0, ackedId, nackedId);
    await acked.ack();
    await nacked.nack();
    const pending = (await redis.xpending(stream, 'g', '-', '+', 10)) as [string, string, number, number][];
    expect(pending.map(([id, owner]) => [id, owner])).toEqual([[nackedId, 'intruder']]);
    expect(await redis.xlen(harness.keys.retry('owner', 'g'))).toBe(0);
    expect(await redis.zcard(harness.keys.scheduled)).toBe(0);
  });

  it('removes consumers that left nothing pending and were idle past consumerExpiryMs, never one with pending entries', async () => {
    const redis = harness.redis();
    const stream = harness.keys.topic('reap');
    const transport = harness.transport({ consumerExpiryMs: 1_000, claimIdleMs: 60_000, claimIntervalMs: 50 });
    await transport.ensureGroup('reap', 'g');
    await transport.publish([message('reap', 'taken-by-ghost')]);
    await redis.call('XGROUP', 'CREATECONSUMER', stream, 'g', 'idle-ghost');
    await redis.xreadgroup('GROUP', 'g', 'busy-ghost', 'COUNT', 1, 'STREAMS', stream, '>');
    await transport.subscribe(new Collector().params('reap', 'g'));
    const names = async () => ((await redis.xinfo('CONSUMERS', stream, 'g')) as unknown[][]).map((c) => String(c[1]));
    await eventually(async () => !(await names()).includes('idle-ghost'), { timeoutMs: 10_000, what: 'the idle ghost consumer to be removed' });
    expect(await names()).toContain('busy-ghost');
  });
});
