import { afterAll, afterEach, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin, recordingLogger } from '@omnibus/test-support';
import { body, commitsOf, DeliveryLog, isCommit, makeTransport, testPrefix, text, unique } from './helpers.js';

const prefix = testPrefix('recovery');

describeWithBroker('kafka', 'kafka transport: retries, delays and recovery', (endpoint) => {
  const open: Transport[] = [];
  const transport = (logger = recordingLogger()) => {
    const t = makeTransport(endpoint.url, prefix, { partitions: 1 }, logger);
    open.push(t);
    return t;
  };
  const subscribe = (t: Transport, topic: string, group: string, log: DeliveryLog, concurrency = 4) =>
    t.subscribe({ topic, group, concurrency, onDelivery: log.onDelivery, onError: () => {} });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('redelivers a nacked message after a restart, with its id, key, body, merged headers and attempt + 1', async () => {
    const topic = unique('restart');
    const before = transport();
    const first = new DeliveryLog();
    await subscribe(before, topic, 'g1', first);
    await before.publish([{ id: 'r1', topic, key: 'k', headers: { 'x-a': 'line\nbreak "q" ✓' }, body: body('payload') }]);
    const delivery = await first.waitFor((d) => d.message.id === 'r1');
    const nackedAt = Date.now();
    await delivery.nack({ delayMs: 1_500, headers: { 'omnibus-first-failure-at': 'then' } });
    await before.close();

    const after = transport();
    const second = new DeliveryLog();
    await subscribe(after, topic, 'g1', second);
    const again = await second.waitFor((d) => d.message.id === 'r1');
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(1_500 - 50);
    expect(again.attempt).toBe(2);
    expect(again.message.key).toBe('k');
    expect(text(again.message.body)).toBe('payload');
    expect(again.message.headers).toEqual({ 'x-a': 'line\nbreak "q" ✓', 'omnibus-first-failure-at': 'then' });
    await again.ack();
  });

  it('counts an unsettled delivery as attempted when another member takes over', async () => {
    const topic = unique('takeover');
    const logger = recordingLogger();
    const crashed = transport(logger);
    const first = new DeliveryLog();
    await subscribe(crashed, topic, 'g1', first);
    await crashed.publish([{ id: 'held', topic, key: undefined, headers: {}, body: body('x') }]);
    await first.waitFor((d) => d.message.id === 'held');
    // The hand-over is recorded in the commit metadata before anything is settled.
    await logger.waitFor((e) => isCommit(e) && commitsOf(e).some((c) => c.metadata === 'omnibus:delivered=1' && c.offset === '0'), 20_000, { what: 'the frontier commit' });
    await crashed.close();

    const next = transport();
    const second = new DeliveryLog();
    await subscribe(next, topic, 'g1', second);
    const redelivered = await second.waitFor((d) => d.message.id === 'held');
    expect(redelivered.attempt).toBe(2);
    // The first member's late ack changes nothing: its delivery was released.
    await first.deliveries[0]?.ack();
    await redelivered.ack();
  });

  it('starts a new group at the end of a topic that already has messages', async () => {
    const topic = unique('history');
    const t = transport();
    await t.publish([{ id: 'old', topic, key: undefined, headers: {}, body: body('old') }]);
    await t.ensureGroup(topic, 'newcomer');
    await t.publish([{ id: 'new', topic, key: undefined, headers: {}, body: body('new') }]);
    const log = new DeliveryLog();
    await subscribe(t, topic, 'newcomer', log);
    await log.waitFor((d) => d.message.id === 'new');
    // One partition: "old" would have come first.
    expect(log.deliveries.map((d) => d.message.id)).toEqual(['new']);
  });

  it('keeps a delayed publish for the groups that existed when it was published', async () => {
    const topic = unique('delayed');
    const publisher = transport();
    await publisher.ensureGroup(topic, 'early');
    const sentAt = Date.now();
    await publisher.publish([{ id: 'd1', topic, key: undefined, headers: { h: 'v' }, body: body('later'), delayMs: 1_000 }]);
    await publisher.ensureGroup(topic, 'late');
    await publisher.publish([{ id: 'd2', topic, key: undefined, headers: {}, body: body('marker'), delayMs: 1_200 }]);

    const consumer = transport();
    const early = new DeliveryLog();
    const late = new DeliveryLog();
    await subscribe(consumer, topic, 'early', early);
    await subscribe(consumer, topic, 'late', late);
    const delayed = await early.waitFor((d) => d.message.id === 'd1');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_000 - 50);
    expect(delayed.attempt).toBe(1);
    expect(delayed.message.topic).toBe(topic);
    expect(delayed.message.headers).toEqual({ h: 'v' });
    await early.waitFor((d) => d.message.id === 'd2');
    // "late" was created after d1 was published: it gets d2 (due after d1) but never d1.
    await late.waitFor((d) => d.message.id === 'd2');
    expect(late.deliveries.map((d) => d.message.id)).toEqual(['d2']);
  });

  it('close() commits settled work, releases the rest and leaves the group in time', async () => {
    const topic = unique('close');
    const admin = kafkaAdmin(endpoint.brokers);
    await admin.connect();
    try {
      const closing = transport();
      const log = new DeliveryLog();
      const sub = await subscribe(closing, topic, 'g1', log);
      await closing.publish(['c0', 'c1', 'c2'].map((id) => ({ id, topic, key: undefined, headers: {}, body: body(id) })));
      await log.waitForCount(3);
      await log.deliveries[0]?.ack();
      await log.deliveries[1]?.ack();
      // stop(): no new deliveries, but settling still works.
      await sub.stop();
      await closing.publish([{ id: 'c3', topic, key: undefined, headers: {}, body: body('c3') }]);
      const startedClose = Date.now();
      await closing.close();
      expect(Date.now() - startedClose).toBeLessThan(5_000);
      expect(log.deliveries.map((d) => d.message.id)).toEqual(['c0', 'c1', 'c2']);

      const groupId = `${prefix}${topic}.g1`;
      const { groups } = await admin.describeGroups([groupId]);
      expect(groups[0]?.state).toBe('Empty');
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [`${prefix}${topic}`] });
      expect(offsets?.partitions[0]?.offset).toBe('2');

      const reopened = transport();
      const again = new DeliveryLog();
      await subscribe(reopened, topic, 'g1', again);
      await again.waitForCount(2);
      expect(again.deliveries.map((d) => [d.message.id, d.attempt])).toEqual([
        ['c2', 2],
        ['c3', 1],
      ]);
    } finally {
      await admin.disconnect();
    }
  });
});
