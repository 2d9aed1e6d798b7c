import { afterAll, afterEach, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { bytes, cleanupPrefix, deliveryLog, makeTransport, testPrefix, uniqueTopic } from './helpers.js';

describeWithBroker('rabbitmq', 'rabbitmq delivery metadata', (endpoint) => {
  const prefix = testPrefix('meta');
  const transports: Transport[] = [];
  const open = () => {
    const transport = makeTransport(endpoint.url, { prefix, managementUrl: false });
    transports.push(transport);
    return transport;
  };
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  it('gives each delivery its tags, redelivered flag, exchange, routing key and queue as the broker sent them', async () => {
    const transport = open();
    const topic = uniqueTopic('meta');
    const queue = `${prefix}${topic}.g`;
    // First delivery: nack (a retry copy through the default exchange); second: ack.
    const log = deliveryLog((delivery) => (delivery.attempt === 1 ? delivery.nack() : delivery.ack()));
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await transport.publish([{ topic, id: 'm', key: 'customer-7', headers: {}, body: bytes('x') }]);
    await log.waitFor((d) => d.length === 2, 'the delivery and its retry');
    const [first, retry] = log.deliveries;
    expect(first?.metadata).toEqual({ deliveryTag: '1', consumerTag: expect.stringMatching(/^amq\.ctag-/), redelivered: 'false', exchange: `${prefix}${topic}`, routingKey: 'customer-7', queue });
    expect(retry?.metadata).toEqual({ deliveryTag: '2', consumerTag: first?.metadata?.consumerTag, redelivered: 'false', exchange: '', routingKey: queue, queue });
  });

  it('says redelivered when the broker hands out a message again after its consumer left without settling it', async () => {
    const topic = uniqueTopic('redelivered');
    const held = deliveryLog(() => {});
    const first = open();
    const subscription = await first.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: held.onDelivery, onError: held.onError });
    await first.publish([{ topic, id: 'r', key: undefined, headers: {}, body: bytes('x') }]);
    await held.waitFor((d) => d.length === 1, 'the first delivery');
    await subscription.close(); // unsettled: back to the queue
    const log = deliveryLog();
    await open().subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await log.waitFor((d) => d.length === 1, 'the redelivery');
    expect(held.deliveries[0]?.metadata?.redelivered).toBe('false');
    expect(log.deliveries[0]?.metadata).toMatchObject({ redelivered: 'true', exchange: `${prefix}${topic}`, queue: `${prefix}${topic}.g` });
  });
});
