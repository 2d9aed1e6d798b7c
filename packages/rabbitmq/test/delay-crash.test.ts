// Delayed messages survive a broker crash: the quorum delay buckets dead-letter at-least-once.
// Uses a private RabbitMQ node (own name, ports and data dir), never the shared broker.
import { afterAll, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { describeWithBroker, privateBrokerUnavailable, startRabbitMQ, type PrivateBroker } from '@omnibus/test-support';
import { bytes, deliveryLog, makeTransport, testPrefix, uniqueTopic } from './helpers.js';

const unavailable = privateBrokerUnavailable('rabbitmq');

describeWithBroker('rabbitmq', 'rabbitmq delayed messages across a broker crash', () => {
  let broker: PrivateBroker | undefined;
  let transport: Transport | undefined;
  afterAll(async () => {
    await transport?.close().catch(() => {});
    await broker?.close();
  });

  it('loses no delayed retry and no delayed publish when the broker is SIGKILLed while they wait and expire', async (ctx) => {
    if (unavailable) return ctx.skip(unavailable);
    broker = await startRabbitMQ();
    transport = makeTransport(broker.url, { prefix: testPrefix('delay-crash'), connectTimeoutMs: 3_000, publishTimeoutMs: 60_000 });
    const topic = uniqueTopic('crash');
    const count = 200;
    const log = deliveryLog((d) => (d.message.id.startsWith('r-') && d.attempt === 1 ? d.nack({ delayMs: 1_000 }) : d.ack()));
    await transport.subscribe({ topic, group: 'g1', concurrency: 16, onDelivery: log.onDelivery, onError: () => {} });

    // Retries (nacked with 1 s) and delayed publishes (2 s) spread over about a second, so that
    // when the broker dies some wait in their buckets and some are being dead-lettered.
    const publishing: Promise<void>[] = [];
    for (let i = 0; i < count; i += 20) {
      const batch = Array.from({ length: 20 }, (_, j) => i + j);
      publishing.push(transport.publish(batch.map((n) => ({ id: `r-${n}`, topic, key: undefined, headers: {}, body: bytes(`r-${n}`) }))));
      publishing.push(transport.publish(batch.map((n) => ({ id: `d-${n}`, topic, key: undefined, headers: {}, body: bytes(`d-${n}`), delayMs: 2_000 }))));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.all(publishing);
    await log.waitFor((ds) => ds.filter((d) => d.message.id.startsWith('r-') && d.attempt >= 2).length >= count / 4, 'some retries through their bucket');
    await broker.restart({ signal: 'SIGKILL' });

    const done = (ds: typeof log.deliveries, kind: string) => new Set(ds.filter((d) => d.message.id.startsWith(kind) && (kind === 'd-' || d.attempt >= 2)).map((d) => d.message.id));
    await log.waitFor((ds) => done(ds, 'r-').size === count && done(ds, 'd-').size === count, 'every retry and delayed publish after the crash', 90_000);
    expect(done(log.deliveries, 'r-').size).toBe(count);
    expect(done(log.deliveries, 'd-').size).toBe(count);
  }, 180_000);
});
