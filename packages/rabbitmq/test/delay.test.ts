import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { delayBucket, MAX_DELAY_MS } from '@omnibus/rabbitmq';
import { describeWithBroker, recordingLogger } from '@omnibus/test-support';
import { bytes, cleanupPrefix, deliveryLog, hasRabbitmqctl, listBindings, listQueues, makeTransport, rawConnection, testPrefix, uniqueTopic } from './helpers.js';

describe('delay buckets', () => {
  it('never rounds a delay down and rounds up by at most 2^(1/n)', () => {
    for (const perDoubling of [1, 4, 8, 16]) {
      const factor = 2 ** (1 / perDoubling);
      for (let delay = 1; delay < 5_000_000; delay = Math.ceil(delay * 1.07) + 1) {
        const bucket = delayBucket(delay, perDoubling);
        expect(bucket).toBeGreaterThanOrEqual(delay);
        expect(bucket).toBeLessThanOrEqual(Math.ceil(delay * factor) + 1);
      }
    }
  });

  it('maps nearby delays to few buckets and is monotonic', () => {
    const buckets = new Set<number>();
    let previous = 0;
    for (let delay = 500; delay <= 1_000; delay += 1) {
      const bucket = delayBucket(delay, 8);
      expect(bucket).toBeGreaterThanOrEqual(previous);
      previous = bucket;
      buckets.add(bucket);
    }
    // A jittered backoff between 0.5 s and 1 s lands in at most 9 queues, not 500.
    expect(buckets.size).toBeLessThanOrEqual(9);
  });

  it('caps at the largest delay RabbitMQ TTLs take', () => {
    expect(delayBucket(MAX_DELAY_MS, 8)).toBe(MAX_DELAY_MS);
    expect(delayBucket(0, 8)).toBe(0);
  });
});

describeWithBroker('rabbitmq', 'rabbitmq delayed retry and delayed publish', (endpoint) => {
  const prefix = testPrefix('delay');
  const transports: Transport[] = [];
  const open = (options: Record<string, unknown> = {}) => {
    const transport = makeTransport(endpoint.url, { prefix, ...options });
    transports.push(transport);
    return transport;
  };
  const publishOne = (transport: Transport, topic: string, id: string, delayMs?: number) =>
    transport.publish([{ id, topic, key: `key-${id}`, headers: { origin: id }, body: bytes(id), delayMs }]);

  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  it('does not hold a 1 s retry behind a 6 s one (no head-of-line blocking), never early', async () => {
    const transport = open();
    const topic = uniqueTopic('hol');
    const firstSeenAt = new Map<string, number>();
    const nackedAt = new Map<string, number>();
    const log = deliveryLog(async (d) => {
      if (d.attempt === 1) {
        nackedAt.set(d.message.id, Date.now());
        await d.nack({ delayMs: d.message.id === 'slow' ? 6_000 : 1_000, headers: { note: `retried-${d.message.id}` } });
      } else {
        firstSeenAt.set(d.message.id, Date.now());
        await d.ack();
      }
    });
    await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: log.onDelivery, onError: log.onError });
    // The slow one is retried first, so it sits in front if delays shared one queue.
    await publishOne(transport, topic, 'slow');
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'slow'), 'slow, attempt 1');
    await publishOne(transport, topic, 'fast');
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'fast' && d.attempt === 2), 'fast, attempt 2', 15_000);
    expect(firstSeenAt.has('slow')).toBe(false);
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'slow' && d.attempt === 2), 'slow, attempt 2', 20_000);

    expect(firstSeenAt.get('fast')! - nackedAt.get('fast')!).toBeGreaterThanOrEqual(1_000 - 20);
    expect(firstSeenAt.get('slow')! - nackedAt.get('slow')!).toBeGreaterThanOrEqual(6_000 - 20);
    const fast = log.deliveries.find((d) => d.message.id === 'fast' && d.attempt === 2)!;
    expect(fast.message.headers).toEqual({ origin: 'fast', note: 'retried-fast' });
    expect(fast.message.key).toBe('key-fast');
    expect(log.errors).toEqual([]);
  });

  it('counts attempts across several delayed and immediate round trips', async () => {
    const transport = open();
    const topic = uniqueTopic('attempts');
    const log = deliveryLog((d) => (d.attempt < 5 ? d.nack({ delayMs: d.attempt % 2 === 0 ? 0 : 30, headers: { [`a${d.attempt}`]: 'x' } }) : d.ack()));
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await publishOne(transport, topic, 'm1');
    await log.waitFor((ds) => ds.length === 5, 'five attempts');
    expect(log.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(log.deliveries[4]!.message.headers).toEqual({ origin: 'm1', a1: 'x', a2: 'x', a3: 'x', a4: 'x' });
  });

  it('sends a delayed retry back to its own group only', async () => {
    const transport = open();
    const topic = uniqueTopic('own-group');
    const retrying = deliveryLog((d) => (d.attempt === 1 ? d.nack({ delayMs: 200 }) : d.ack()));
    const other = deliveryLog();
    await transport.subscribe({ topic, group: 'retrying', concurrency: 1, onDelivery: retrying.onDelivery, onError: retrying.onError });
    await transport.subscribe({ topic, group: 'other', concurrency: 1, onDelivery: other.onDelivery, onError: other.onError });
    await publishOne(transport, topic, 'x1');
    await retrying.waitFor((ds) => ds.some((d) => d.attempt === 2), 'the retry');
    // A marker published after the retry arrived: once it is in, the other group had its chance to see a copy.
    await publishOne(transport, topic, 'marker');
    await other.waitFor((ds) => ds.some((d) => d.message.id === 'marker'), 'the marker');
    expect(other.deliveries.map((d) => d.message.id)).toEqual(['x1', 'marker']);
  });

  it('delivers a delayed publish to every group of the topic, no earlier than asked', async () => {
    const transport = open();
    const topic = uniqueTopic('delayed-fanout');
    const a = deliveryLog();
    const b = deliveryLog();
    await transport.ensureGroup(topic, 'b');
    await transport.subscribe({ topic, group: 'a', concurrency: 1, onDelivery: a.onDelivery, onError: a.onError });
    const sentAt = Date.now();
    await publishOne(transport, topic, 'later', 700);
    await a.waitFor((ds) => ds.length === 1, 'the delayed message in group a');
    const arrivedA = Date.now();
    await transport.subscribe({ topic, group: 'b', concurrency: 1, onDelivery: b.onDelivery, onError: b.onError });
    await b.waitFor((ds) => ds.length === 1, 'the delayed message in group b (kept while no consumer ran)');
    expect(arrivedA - sentAt).toBeGreaterThanOrEqual(700 - 20);
    for (const d of [...a.deliveries, ...b.deliveries]) {
      expect(d.message).toMatchObject({ id: 'later', key: 'key-later', headers: { origin: 'later' } });
      expect(d.attempt).toBe(1);
    }
  });

  it('re-declares a delay queue that vanished and still delivers (mandatory publish, returned, re-sent)', async () => {
    const logger = recordingLogger();
    const transport = makeTransport(endpoint.url, { prefix }, logger);
    transports.push(transport);
    const topic = uniqueTopic('vanished');
    const log = deliveryLog();
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await publishOne(transport, topic, 'first', 333);
    await log.waitFor((ds) => ds.length === 1, 'first delayed message');
    // Delete the bucket queue behind the transport's back; its declaration cache still says "exists".
    const raw = await rawConnection(endpoint.url);
    const channel = await raw.channel();
    await channel.deleteQueue(`${prefix}omnibus:delay:q:${delayBucket(333, 8)}`);
    await raw.close();
    await publishOne(transport, topic, 'second', 333);
    await log.waitFor((ds) => ds.length === 2, 'second delayed message');
    expect(log.deliveries.map((d) => d.message.id)).toEqual(['first', 'second']);
    expect(logger.entries.filter((e) => /returned as unroutable/.test(e.message))).toHaveLength(1);
  });

  it('makes delay buckets quorum queues dead-lettering at-least-once by default, and a delayed retry still arrives', async (ctx) => {
    if (!(await hasRabbitmqctl())) return ctx.skip('rabbitmqctl is not available');
    const transport = open();
    const topic = uniqueTopic('args');
    const log = deliveryLog((d) => (d.attempt === 1 ? d.nack({ delayMs: 2_000 }) : d.ack()));
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await publishOne(transport, topic, 'a');
    await log.waitFor((ds) => ds.length === 1, 'first attempt');
    const nackedAt = Date.now();
    const bucket = delayBucket(2_000, 8);
    await log.waitFor((ds) => ds.some((d) => d.attempt === 2), 'the delayed retry through the quorum bucket');
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(2_000 - 20);
    // Earlier tests of this file made other buckets (all quorum): none of the classic kind.
    const queues = await listQueues(`${prefix}omnibus:delay:`);
    expect(queues.filter((q) => !q.name.startsWith(`${prefix}omnibus:delay:q:`))).toEqual([]);
    expect(queues.find((q) => q.name === `${prefix}omnibus:delay:q:${bucket}`)).toMatchObject({
      durable: true,
      type: 'quorum',
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-message-ttl': bucket,
        'x-dead-letter-exchange': `${prefix}omnibus:router`,
        'x-expires': bucket + 120_000,
      },
    });
    expect(log.errors).toEqual([]);
  });

  it('renews a quorum queue\'s x-expires lease by re-declaring it (what keeps a bucket in use alive)', async () => {
    // RabbitMQ's docs say a quorum queue's lease is "not renewed on queue re-declaration"; the
    // bucket scheme relies on it being renewed, as it is on 3.10.8. This guards that assumption.
    const raw = await rawConnection(endpoint.url);
    try {
      const channel = await raw.channel();
      const renewed = `${prefix}omnibus:lease-renewed`;
      const idle = `${prefix}omnibus:lease-idle`;
      const args = { 'x-queue-type': 'quorum', 'x-expires': 2_000 };
      await channel.assertQueue(renewed, { durable: true, arguments: args });
      await channel.assertQueue(idle, { durable: true, arguments: args });
      for (let i = 0; i < 10; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await channel.assertQueue(renewed, { durable: true, arguments: args });
      }
      await expect(channel.checkQueue(renewed)).resolves.toMatchObject({ queue: renewed });
      await expect((await raw.channel()).checkQueue(idle)).rejects.toMatchObject({ code: 404 });
    } finally {
      await raw.close();
    }
  });

  it('routes expired delayed publishes of a topic without groups to the discard queue (a quorum bucket would keep them)', async (ctx) => {
    if (!(await hasRabbitmqctl())) return ctx.skip('rabbitmqctl is not available');
    const transport = open();
    const topic = uniqueTopic('no-groups');
    await publishOne(transport, topic, 'nobody', 50);
    const [discard] = await listQueues(`${prefix}omnibus:discard`);
    expect(discard).toMatchObject({ name: `${prefix}omnibus:discard`, durable: true, type: 'classic', arguments: { 'x-max-length': 0 } });
    const routes = await listBindings(`${prefix}omnibus:router`);
    expect(routes.filter((b) => b.routing_key === `t:${prefix}${topic}`).map((b) => b.destination_name).sort()).toEqual([`${prefix}${topic}`, `${prefix}omnibus:discard`]);
    // A group made afterwards gets later delayed messages only, never the one published before it existed.
    const log = deliveryLog();
    await transport.subscribe({ topic, group: 'late', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await publishOne(transport, topic, 'later', 50);
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'later'), 'the later delayed message');
    expect(log.deliveries.map((d) => d.message.id)).toEqual(['later']);
  });

  it("keeps classic buckets under their own names with delayQueueType 'classic', next to quorum ones, without duplicates", async (ctx) => {
    if (!(await hasRabbitmqctl())) return ctx.skip('rabbitmqctl is not available');
    const classic = open({ delayQueueType: 'classic' });
    const quorum = open();
    const topic = uniqueTopic('mixed');
    const log = deliveryLog();
    await quorum.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    // Same delay, so the same bucket length of both types: each message must reach one bucket only.
    await publishOne(classic, topic, 'via-classic', 1_500);
    await publishOne(quorum, topic, 'via-quorum', 1_500);
    await log.waitFor((ds) => ds.length >= 2, 'both delayed messages');
    const bucket = delayBucket(1_500, 8);
    const queues = await listQueues(`${prefix}omnibus:delay:`);
    const byName = new Map(queues.map((q) => [q.name, q]));
    expect(byName.get(`${prefix}omnibus:delay:${bucket}`)).toMatchObject({
      type: 'classic',
      arguments: { 'x-message-ttl': bucket, 'x-dead-letter-exchange': `${prefix}omnibus:router`, 'x-expires': bucket + 120_000 },
    });
    expect(byName.get(`${prefix}omnibus:delay:${bucket}`)?.arguments).not.toHaveProperty('x-dead-letter-strategy');
    expect(byName.get(`${prefix}omnibus:delay:q:${bucket}`)).toMatchObject({ type: 'quorum' });
    // A marker published after both: once it is in, a duplicate copy would have arrived too.
    await publishOne(quorum, topic, 'marker');
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'marker'), 'the marker');
    expect(log.deliveries.map((d) => d.message.id).sort()).toEqual(['marker', 'via-classic', 'via-quorum']);
  });

  it('counts a broker redelivery (channel closed with the message unacked) as an attempt, on classic and quorum queues', async () => {
    for (const queueType of ['classic', 'quorum'] as const) {
      const topic = uniqueTopic(`redeliver-${queueType}`);
      const hold = () => {}; // never settled: closing the transport releases it to the broker
      const first = open({ queueType });
      const held = deliveryLog(hold);
      await first.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: held.onDelivery, onError: held.onError });
      await publishOne(first, topic, 'r1');
      await held.waitFor((ds) => ds.length === 1, 'first delivery');
      await first.close();
      const second = open({ queueType });
      const again = deliveryLog(hold);
      await second.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: again.onDelivery, onError: again.onError });
      await again.waitFor((ds) => ds.length === 1, 'second delivery');
      await second.close();
      const third = open({ queueType });
      const log = deliveryLog();
      await third.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
      await log.waitFor((ds) => ds.length === 1, `third delivery on ${queueType}`);
      expect(held.deliveries[0]!.attempt).toBe(1);
      expect(again.deliveries[0]!.attempt).toBe(2);
      // Quorum queues count every delivery; classic queues only flag "redelivered" (counted as +1).
      expect(log.deliveries[0]!.attempt).toBe(queueType === 'quorum' ? 3 : 2);
    }
  });
});
