import { afterAll, afterEach, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker } from '@omnibus/test-support';
import { body, DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('publish');

describeWithBroker('kafka', 'kafka transport: publishing', (endpoint) => {
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('splits one publish that exceeds a produce request, keeping the order of a key', async () => {
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(transport);
    const topic = unique('big');
    const log = new DeliveryLog();
    await transport.subscribe({ topic, group: 'g1', concurrency: 4, onDelivery: (d) => (log.onDelivery(d), void d.ack()), onError: () => {} });
    // Three 400 KB messages of one key: together above the broker's 1 MB record-batch limit.
    const big = (i: number) => ({ id: `big-${i}`, topic, key: 'same', headers: {}, body: new Uint8Array(400_000).fill(i) });
    await transport.publish([big(1), big(2), big(3)]);
    await log.waitForCount(3);
    expect(log.deliveries.map((d) => d.message.id)).toEqual(['big-1', 'big-2', 'big-3']);
    expect(log.deliveries.map((d) => d.message.body[0])).toEqual([1, 2, 3]);
  });

  it('coalesces concurrent publishes without losing or reordering any of one publisher', async () => {
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(transport);
    const topic = unique('many');
    const log = new DeliveryLog();
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: (d) => (log.onDelivery(d), void d.ack()), onError: () => {} });
    const ids = Array.from({ length: 300 }, (_, i) => `c${i}`);
    await Promise.all(ids.map((id) => transport.publish([{ id, topic, key: 'k', headers: {}, body: body(id) }])));
    await log.waitForCount(ids.length);
    // Started in this order, so sent in this order: one key, one partition, delivered in order.
    expect(log.deliveries.map((d) => d.message.id)).toEqual(ids);
  });
});
