import { expect, it } from 'vitest';
import type { Options } from 'amqplib';
import type { Delivery, Transport, TransportSubscription } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { deliveryLog, uniqueTopic, rabbitHarness } from './helpers.js';

/**
 * Messages another AMQP client published straight to a topic exchange: without a message-id,
 * and with Omnibus' attempt header and a delivery count of their own.
 */
describeWithBroker('rabbitmq', 'rabbitmq foreign messages', (endpoint) => {
  const harness = rabbitHarness(endpoint.url, 'foreign');
  const { prefix } = harness;
  const open = (options: Record<string, unknown> = {}) => harness.open(options);
  /** Publish as a foreign client would, with a publisher confirm. */
  const publishForeign = async (topic: string, body: string, options: Options.Publish = {}) => {
    const channel = await harness.raw.model.createConfirmChannel();
    channel.publish(`${prefix}${topic}`, 'foreign.key', Buffer.from(body), options);
    await channel.waitForConfirms();
    await channel.close();
  };
  /** A subscription that leaves its deliveries unsettled until the test settles them. */
  const holding = async (transport: Transport, topic: string) => {
    const log = deliveryLog(() => {});
    const subscription: TransportSubscription = await transport.subscribe({ topic, group: 'g', concurrency: 4, onDelivery: log.onDelivery, onError: log.onError });
    return { log, subscription };
  };


  it('gives a message without a message-id a stable id: the same on a broker redelivery and on a nack copy, different for another body', async () => {
    const transport = open();
    const topic = uniqueTopic('noid');
    await transport.ensureGroup(topic, 'g');
    await publishForeign(topic, 'first', { headers: { source: 'legacy', n: 1 }, timestamp: 1_700_000_000 });
    await publishForeign(topic, 'second', { headers: { source: 'legacy', n: 1 }, timestamp: 1_700_000_000 });

    const first = await holding(transport, topic);
    await first.log.waitFor((ds) => ds.length === 2, 'both foreign messages');
    const ids = first.log.deliveries.map((d) => d.message.id);
    expect(ids[0]).toMatch(/^amqp-sha256:[A-Za-z0-9_-]{43}$/);
    expect(ids[1]).toMatch(/^amqp-sha256:/);
    expect(ids[0]).not.toBe(ids[1]);
    // Closing without settling hands both back to the broker, which redelivers them.
    await first.subscription.close();

    let nacked = false;
    const second = deliveryLog((d: Delivery) => {
      if (!nacked && d.message.id === ids[0]) {
        nacked = true;
        return d.nack();
      }
      return d.ack();
    });
    await transport.subscribe({ topic, group: 'g', concurrency: 4, onDelivery: second.onDelivery, onError: second.onError });
    // Redelivery of both, then the nack copy of the first.
    await second.waitFor((ds) => ds.length === 3, 'two redeliveries and one nack copy');
    expect(second.deliveries.map((d) => d.message.id).sort()).toEqual([ids[0], ids[0], ids[1]].sort());
    expect(second.errors).toEqual([]);
  });

  for (const queueType of ['classic', 'quorum'] as const) {
    it(`ignores a foreign x-omnibus-attempt and x-delivery-count on a ${queueType} queue: the retry policy sees attempt 1, then the real count`, async () => {
      const transport = open({ queueType });
      const topic = uniqueTopic(`spoof-${queueType}`);
      await transport.ensureGroup(topic, 'g');
      await publishForeign(topic, 'spoofed', { messageId: 'spoofed-1', headers: { 'x-omnibus-attempt': '99', 'x-delivery-count': 50 } });

      const first = await holding(transport, topic);
      await first.log.waitFor((ds) => ds.length === 1, 'the spoofed message');
      expect(first.log.deliveries[0]!.attempt).toBe(1);
      // Released to the broker: the broker's own count (quorum) or redelivered flag (classic) says 2.
      await first.subscription.close();

      const second = deliveryLog((d: Delivery) => (d.attempt === 2 ? d.nack() : d.ack()));
      await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: second.onDelivery, onError: second.onError });
      // The nack copy is Omnibus' own: its attempt header is believed.
      await second.waitFor((ds) => ds.length === 2, 'the redelivery and the nack copy');
      expect(second.deliveries.map((d) => d.attempt)).toEqual([2, 3]);
      expect(second.deliveries.every((d) => d.message.id === 'spoofed-1')).toBe(true);
    });
  }

  it('believes the attempt of its own delayed retry copy (through the router)', async () => {
    const transport = open();
    const topic = uniqueTopic('delayed-retry');
    const log = deliveryLog((d: Delivery) => (d.attempt < 3 ? d.nack({ delayMs: 20 }) : d.ack()));
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await publishForeign(topic, 'retried', { messageId: 'retried-1' });
    await log.waitFor((ds) => ds.length === 3, 'two delayed retries');
    expect(log.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
  });
});
