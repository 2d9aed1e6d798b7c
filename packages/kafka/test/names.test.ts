import { afterAll, afterEach, expect, it } from 'vitest';
import { isOmnibusError, type Delivery, type Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin } from '@omnibus/test-support';
import { body, DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('names');

/** What a call rejected with (undefined if it resolved). */
async function rejectionOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
    return undefined;
  } catch (error) {
    return error;
  }
}

describeWithBroker('kafka', 'kafka transport: user names never reach internal topics', (endpoint) => {
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
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('keeps a topic apart from topics named like its delay and retry topics (0.1 names)', async () => {
    const t = transport();
    const base = unique('leak');
    // In 0.1, `<topic>.delay` held the topic's delayed publishes and `<topic>.<group>.retry` its group's retries.
    const names = [base, `${base}.delay`, `${base}.g.retry`, `${base}.g`];
    const logs = new Map<string, DeliveryLog>();
    let nackedOnce = false;
    for (const topic of names) {
      const log = new DeliveryLog();
      logs.set(topic, log);
      const onDelivery = (delivery: Delivery) => {
        log.onDelivery(delivery);
        if (delivery.message.id === `${topic}/nack-me` && !nackedOnce) {
          nackedOnce = true;
          void delivery.nack({ delayMs: 100 });
        } else void delivery.ack();
      };
      await t.subscribe({ topic, group: 'g', concurrency: 4, onDelivery, onError: () => {} });
    }
    const message = (topic: string, id: string) => ({ id: `${topic}/${id}`, topic, key: undefined, headers: {}, body: body(id) });
    for (const topic of names) {
      await t.publish([message(topic, 'plain')]);
      await t.publish([{ ...message(topic, 'delayed'), delayMs: 200 }]);
    }
    // A retry of the base topic's group `g` goes through its retry topic.
    await t.publish([message(base, 'nack-me')]);
    for (const topic of names) {
      const log = logs.get(topic) as DeliveryLog;
      const wanted = [`${topic}/plain`, `${topic}/delayed`, ...(topic === base ? [`${topic}/nack-me`] : [])];
      await log.waitFor(() => wanted.every((id) => log.deliveries.some((d) => d.message.id === id)), 20_000, `every message of ${topic}`);
    }
    const baseLog = logs.get(base) as DeliveryLog;
    await baseLog.waitFor((d) => d.message.id === `${base}/nack-me` && d.attempt === 2, 20_000, 'the retry of the nacked message');
    // Markers published last: whatever could leak was published before them.
    for (const topic of names) await t.publish([message(topic, 'marker')]);
    for (const topic of names) await (logs.get(topic) as DeliveryLog).waitFor((d) => d.message.id === `${topic}/marker`, 20_000, `the marker of ${topic}`);
    for (const topic of names) {
      const foreign = (logs.get(topic) as DeliveryLog).deliveries.map((d) => d.message.id).filter((id) => !id.startsWith(`${topic}/`));
      expect(foreign, `messages of other topics delivered to ${topic}`).toEqual([]);
    }
    expect(baseLog.deliveries.filter((d) => d.message.id === `${base}/nack-me`).map((d) => d.attempt)).toEqual([1, 2]);
  });

  it('refuses a topic whose name Kafka folds onto a topic this transport uses, naming both', async () => {
    const t = transport();
    const base = unique('fold');
    const log = new DeliveryLog();
    await t.subscribe({ topic: `${base}.q`, group: 'g', concurrency: 1, onDelivery: (d) => (log.onDelivery(d), void d.ack()), onError: () => {} });
    const refusals = [
      await rejectionOf(() => t.subscribe({ topic: `${base}_q`, group: 'g', concurrency: 1, onDelivery: () => {}, onError: () => {} })),
      await rejectionOf(() => t.publish([{ id: 'p1', topic: `${base}_q`, key: undefined, headers: {}, body: body('x') }])),
      await rejectionOf(() => t.publish([{ id: 'p2', topic: `${base}_q`, key: undefined, headers: {}, body: body('x'), delayMs: 100 }])),
    ];
    for (const refusal of refusals) {
      expect(isOmnibusError(refusal, 'CONFIG_INVALID'), String(refusal)).toBe(true);
      expect((refusal as Error).message).toContain(`"${base}_q"`);
      expect((refusal as Error).message).toContain(`"${base}.q"`);
    }
    // The first topic works on.
    await t.publish([{ id: 'still', topic: `${base}.q`, key: undefined, headers: {}, body: body('x') }]);
    await log.waitFor((d) => d.message.id === 'still');
  });

  it('refuses a topic whose name Kafka folds onto a topic someone else created, naming both', async () => {
    const base = unique('foreign');
    const admin = kafkaAdmin(endpoint.brokers);
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: `${prefix}${base}_q`, numPartitions: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    const t = transport();
    const refusals = [
      await rejectionOf(() => t.subscribe({ topic: `${base}.q`, group: 'g', concurrency: 1, onDelivery: () => {}, onError: () => {} })),
      await rejectionOf(() => t.publish([{ id: 'p1', topic: `${base}.q`, key: undefined, headers: {}, body: body('x') }])),
    ];
    for (const refusal of refusals) {
      expect(isOmnibusError(refusal, 'CONFIG_INVALID'), String(refusal)).toBe(true);
      expect((refusal as Error).message).toContain(`"${base}.q"`);
      expect((refusal as Error).message).toContain(`"${base}_q"`);
    }
    // The existing topic itself is usable.
    const log = new DeliveryLog();
    await t.subscribe({ topic: `${base}_q`, group: 'g', concurrency: 1, onDelivery: (d) => (log.onDelivery(d), void d.ack()), onError: () => {} });
    await t.publish([{ id: 'ok', topic: `${base}_q`, key: undefined, headers: {}, body: body('x') }]);
    await log.waitFor((d) => d.message.id === 'ok');
  });
});
