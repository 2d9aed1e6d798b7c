import { expect, it } from 'vitest';
import type { ConsumeMessage, Options } from 'amqplib';
import { withTimeout } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { deliveryLog, rabbitHarness, uniqueTopic } from './helpers.js';

const envelope = (id: string) => ({
  'ce-id': id,
  'ce-source': 'urn:omnibus:wire-test',
  'ce-type': 'wire.test',
  'ce-time': '2026-12-04T18:00:00.000Z',
  'ce-specversion': '1.0',
  'content-type': 'application/json',
});

/** The CloudEvents AMQP binding on RabbitMQ, checked with a raw amqplib client, and what older publishers wrote. */
describeWithBroker('rabbitmq', 'rabbitmq wire format (CloudEvents AMQP binding) and rolling upgrade', (endpoint) => {
  const harness = rabbitHarness(endpoint.url, 'wire');
  const { prefix } = harness;

  /** Publish as another client (or an older Omnibus) would, with a publisher confirm. */
  const publishRaw = async (topic: string, body: string, options: Options.Publish) => {
    const channel = await harness.raw.model.createConfirmChannel();
    channel.publish(`${prefix}${topic}`, 'k', Buffer.from(body), { persistent: true, ...options });
    await channel.waitForConfirms();
    await channel.close();
  };

  it('writes the envelope as cloudEvents_ headers and the content-type property, user headers as they are', async () => {
    const transport = harness.open();
    const topic = uniqueTopic('out');
    await transport.ensureGroup(topic, 'raw');
    await transport.publish([{ id: 'm-1', topic, key: 'k', headers: { ...envelope('m-1'), traceparent: 'tp' }, body: Buffer.from('{"n":1}') }]);
    const channel = await harness.raw.channel();
    try {
      const message = await withTimeout(
        new Promise<ConsumeMessage>((resolve) => {
          void channel.consume(`${prefix}${topic}.raw`, (delivered) => delivered && resolve(delivered), { noAck: true });
        }),
        20_000,
        () => new Error('no message on the raw queue'),
      );
      expect(message.properties.headers).toEqual({
        cloudEvents_id: 'm-1',
        cloudEvents_source: 'urn:omnibus:wire-test',
        cloudEvents_type: 'wire.test',
        cloudEvents_time: '2026-12-04T18:00:00.000Z',
        cloudEvents_specversion: '1.0',
        traceparent: 'tp',
        'x-omnibus-key': 'k',
      });
      expect(message.properties.contentType).toBe('application/json');
      expect(message.properties.messageId).toBe('m-1');
      expect(message.properties.appId).toBeUndefined();
    } finally {
      await channel.close().catch(() => {});
    }
  });

  it('delivers what a 0.1 publisher wrote during a rolling upgrade (ce- headers, properties behind the app-id marker, or all in the table): right id and headers', async () => {
    const transport = harness.open();
    const topic = uniqueTopic('legacy');
    const log = deliveryLog();
    await transport.subscribe({ topic, group: 'g', concurrency: 2, onDelivery: log.onDelivery, onError: log.onError });
    // 0.1 with the marker: ce-id as message-id, ce-type as type, content-type as content-type, specversion implied.
    await publishRaw(topic, '{"old":1}', {
      messageId: 'legacy-1',
      type: 'wire.test',
      contentType: 'application/json',
      appId: 'omnibus/itcv',
      headers: { 'ce-source': 'urn:omnibus:wire-test', 'ce-time': '2026-12-04T18:00:00.000Z', 'x-omnibus-key': 'k', 'x-user': 'u' },
    });
    // Earlier builds: everything in the table.
    await publishRaw(topic, '{"old":2}', { messageId: 'legacy-2', headers: { ...envelope('legacy-2'), 'x-omnibus-key': 'k' } });
    await log.waitFor((ds) => ds.length === 2, 'both 0.1 messages');
    const [first, second] = [...log.deliveries].sort((a, b) => a.message.id.localeCompare(b.message.id));
    expect(first?.message.id).toBe('legacy-1');
    expect(first?.message.key).toBe('k');
    expect(first?.message.headers).toEqual({ ...envelope('legacy-1'), 'x-user': 'u' });
    expect(second?.message.id).toBe('legacy-2');
    expect(second?.message.headers).toEqual(envelope('legacy-2'));
    expect(log.errors).toEqual([]);

    // What this version writes is read by it alike (the other half of a mixed fleet).
    await transport.publish([{ id: 'new-1', topic, key: 'k', headers: envelope('new-1'), body: Buffer.from('{}') }]);
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'new-1'), 'the 0.2 message');
    expect(log.deliveries.find((d) => d.message.id === 'new-1')?.message.headers).toEqual(envelope('new-1'));
  });
});
