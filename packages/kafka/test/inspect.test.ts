import { afterAll, afterEach, expect, it } from 'vitest';
import type { Delivery, GroupInspection, Transport, TransportInspection } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin } from '@omnibus/test-support';
import { body, DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('inspect');

/** The broker's figures move after commits (coalesced): re-read until they match, with a deadline. */
async function inspectUntil(t: Transport, topic: string, group: string | undefined, accept: (g: GroupInspection, i: TransportInspection) => boolean, timeoutMs = 10_000): Promise<TransportInspection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const inspection = await (t.inspect as NonNullable<Transport['inspect']>)(topic, group);
    const found = inspection.groups.find((g) => g.group === (group ?? 'g'));
    if (found && accept(found, inspection)) return inspection;
    if (Date.now() > deadline) throw new Error(`inspection never matched: ${JSON.stringify(inspection)}`);
    await new Promise((resolve) => setTimeout(resolve, 50)); // polling a broker statistic, with a deadline
  }
}

const figures = (g: GroupInspection) => ({ waiting: g.waiting?.value, inFlight: g.inFlight?.value, delayed: g.delayed?.value, lag: g.lag?.value });

describeWithBroker('kafka', 'kafka transport: inspect', (endpoint) => {
  const admin = kafkaAdmin(endpoint.brokers);
  const open: Transport[] = [];
  const transport = () => {
    const t = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await admin.disconnect();
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('gives zero counts for an unknown topic and group, and creates nothing', async () => {
    await admin.connect();
    const t = transport();
    const topic = unique('unknown');
    const inspection = await t.inspect?.(topic, 'g');
    expect(inspection?.groups).toEqual([{ group: 'g', waiting: { value: 0, exact: true }, inFlight: { value: 0, exact: true }, delayed: { value: 0, exact: true }, lag: { value: 0, exact: true } }]);
    expect(inspection?.delayed).toEqual({ value: 0, exact: true });
    expect((await t.inspect?.(topic))?.groups).toEqual([]);
    // The topic exists now, the group still not: still zero for it.
    await t.publish([{ id: 'm', topic, key: undefined, headers: {}, body: body('m') }]);
    expect((await t.inspect?.(topic, 'nobody'))?.groups[0]?.waiting).toEqual({ value: 0, exact: true });
    const topics = await admin.listTopics();
    expect(topics.filter((name) => name.includes(topic))).toEqual([`${prefix}${topic}`]);
    expect((await admin.listGroups()).groups.filter((g) => g.groupId.includes(topic))).toEqual([]);
  });

  it('counts waiting, in flight, delayed retries, delayed publishes and lag from offsets and commits', async () => {
    const t = transport();
    const topic = unique('depth');
    await t.ensureGroup(topic, 'g');
    await t.publish([0, 1, 2, 3, 4].map((n) => ({ id: `m${n}`, topic, key: undefined, headers: {}, body: body(`m${n}`) })));
    await t.publish([0, 1].map((n) => ({ id: `later${n}`, topic, key: undefined, headers: {}, body: body('later'), delayMs: 600_000 })));

    const idle = await inspectUntil(t, topic, 'g', (g) => g.waiting?.value === 5);
    expect(figures(idle.groups[0] as GroupInspection)).toEqual({ waiting: 5, inFlight: 0, delayed: 0, lag: 5 });
    expect(idle.delayed?.value).toBe(2);
    // Two reads (committed offsets, then log ends) at different moments: estimates.
    expect(idle.groups[0]?.lag?.exact).toBe(false);

    const log = new DeliveryLog();
    const sub = await t.subscribe({ topic, group: 'g', concurrency: 2, onDelivery: log.onDelivery, onError: () => {} });
    await log.waitForCount(2);
    const held = await inspectUntil(t, topic, 'g', (g) => g.inFlight?.value === 2);
    expect(figures(held.groups[0] as GroupInspection)).toEqual({ waiting: 3, inFlight: 2, delayed: 0, lag: 5 });

    // A nack with a long delay: one retry waiting in the group's retry topic; the next message is handed over.
    await (log.deliveries[0] as Delivery).nack({ delayMs: 600_000 });
    await log.waitForCount(3);
    const nacked = await inspectUntil(t, topic, 'g', (g) => g.delayed?.value === 1 && g.waiting?.value === 2);
    expect(figures(nacked.groups[0] as GroupInspection)).toEqual({ waiting: 2, inFlight: 2, delayed: 1, lag: 4 });

    // Without a group: every group of the topic the broker knows.
    await t.ensureGroup(topic, 'other');
    expect((await t.inspect?.(topic))?.groups.map((g) => g.group)).toEqual(['g', 'other']);

    // Closed: the unsettled deliveries are released; a group without members holds nothing in flight.
    await sub.close();
    const closed = await inspectUntil(t, topic, 'g', (g) => g.inFlight?.value === 0);
    expect(figures(closed.groups[0] as GroupInspection)).toEqual({ waiting: 4, inFlight: 0, delayed: 1, lag: 4 });
    expect(closed.delayed?.value).toBe(2);
  });

  it('counts nothing waiting once everything was consumed', async () => {
    const t = transport();
    const topic = unique('drained');
    const log = new DeliveryLog();
    await t.subscribe({ topic, group: 'g', concurrency: 4, onDelivery: (d) => void d.ack().then(() => log.onDelivery(d)), onError: () => {} });
    await t.publish([0, 1, 2, 3, 4, 5].map((n) => ({ id: `m${n}`, topic, key: undefined, headers: {}, body: body('x') })));
    await log.waitForCount(6);
    const drained = await inspectUntil(t, topic, 'g', (g) => g.lag?.value === 0);
    expect(figures(drained.groups[0] as GroupInspection)).toEqual({ waiting: 0, inFlight: 0, delayed: 0, lag: 0 });

    // What one inspect costs (round trips to a local broker), for the README.
    const timings: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const started = performance.now();
      await t.inspect?.(topic, 'g');
      timings.push(performance.now() - started);
    }
    timings.sort((a, b) => a - b);
    console.log(`[kafka inspect] one group, main, delay and retry topics of 1 partition: median ${timings[5]?.toFixed(1)} ms, max ${timings[9]?.toFixed(1)} ms`);
  });
});
