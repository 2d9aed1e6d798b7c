import { afterAll, afterEach, expect, it } from 'vitest';
import { messageBytes, type Delivery, type Transport } from '@omnibus/core';
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

  it('accepts a message of exactly maxMessageBytes (as core measures it): published, delayed and retried', async () => {
    // The defaults: maxMessageBytes 1,000,000 against the broker's message.max.bytes 1,048,588.
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(transport);
    const topic = unique('limit');
    const limit = transport.capabilities.maxMessageBytes as number;
    const headers = { 'ce-id': 'x', 'ce-type': 'limit.test', 'ce-source': 'omnibus', 'ce-specversion': '1.0', 'content-type': 'application/octet-stream', 'x-trace': 't'.repeat(200) };
    const message = (id: string) => {
      const shell = { id, topic, key: 'k', headers: { ...headers, 'ce-id': id }, body: new Uint8Array(0) };
      return { ...shell, body: new Uint8Array(limit - messageBytes(shell)).fill(7) };
    };
    expect(messageBytes(message('exact-1'))).toBe(limit);
    const log = new DeliveryLog();
    let nacked = false;
    const onDelivery = (d: Delivery) => {
      log.onDelivery(d);
      if (d.message.id === 'exact-1' && !nacked) {
        nacked = true;
        // The retry record carries the transport's attempt and due headers on top.
        void d.nack({ delayMs: 10, headers: { 'omnibus-first-failure-at': new Date().toISOString() } });
      } else void d.ack();
    };
    await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery, onError: () => {} });
    await transport.publish([message('exact-1')]);
    await transport.publish([{ ...message('exact-2'), delayMs: 10 }]);
    await log.waitFor((d) => d.message.id === 'exact-1' && d.attempt === 2, 20_000, 'the retried message');
    const delayed = await log.waitFor((d) => d.message.id === 'exact-2', 20_000, 'the delayed message');
    expect(delayed.message.body.byteLength).toBe(message('exact-2').body.byteLength);
  });

  it('rejects at once a message the broker refuses as too large, saying its size and the limit', async () => {
    // Declared above what the broker takes: the broker's refusal is the answer.
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1, maxMessageBytes: 2_000_000, publishTimeoutMs: 30_000 });
    open.push(transport);
    const topic = unique('refused');
    await transport.publish([{ id: 'small', topic, key: undefined, headers: {}, body: body('x') }]);
    const started = Date.now();
    const error = await transport.publish([{ id: 'huge', topic, key: undefined, headers: {}, body: new Uint8Array(1_500_000) }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toMatchObject({ code: 'PUBLISH_FAILED', topic });
    const text = (error as Error).message;
    expect(text).toContain('"huge"');
    expect(text).toMatch(/1,?500,?0\d\d bytes/);
    // The topic's limit, read from the broker (its max.message.bytes, by default message.max.bytes).
    expect(text).toMatch(/1,?048,?588/);
    expect(text).toContain('maxMessageBytes');
  });
});
