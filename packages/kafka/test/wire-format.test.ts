import { afterAll, afterEach, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { withTimeout, type Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker } from '@omnibus/test-support';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { KAFKA_DRIVERS } from '../src/index.js';
import { DeliveryLog, body, makeTransport, testPrefix, text, unique } from './helpers.js';

const prefix = testPrefix('wire');

const envelope = (id: string) => ({
  'ce-id': id,
  'ce-source': 'urn:omnibus:wire-test',
  'ce-type': 'wire.test',
  'ce-time': '2026-12-04T18:00:00.000Z',
  'ce-specversion': '1.0',
  'content-type': 'application/json',
});

describeWithBroker('kafka', 'kafka transport: wire format (CloudEvents Kafka binding) and rolling upgrade', (endpoint) => {
  const open: Transport[] = [];
  const raw = new Kafka({ brokers: [...endpoint.brokers], logLevel: logLevel.NOTHING });
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  /** The first record of `kafkaTopic`, read with a plain kafkajs consumer. */
  async function firstRecord(kafkaTopic: string): Promise<KafkaMessage> {
    const consumer = raw.consumer({ groupId: `${prefix}raw-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [kafkaTopic], fromBeginning: true });
      return await withTimeout(
        new Promise<KafkaMessage>((resolve) => {
          void consumer.run({ eachMessage: async ({ message }) => resolve(message) });
        }),
        20_000,
        () => new Error(`no record on ${kafkaTopic}`),
      );
    } finally {
      await consumer.disconnect();
    }
  }

  async function produceRaw(kafkaTopic: string, headers: Record<string, string>, value: string): Promise<void> {
    const producer = raw.producer();
    await producer.connect();
    try {
      await producer.send({ topic: kafkaTopic, messages: [{ key: 'k', value, headers }] });
    } finally {
      await producer.disconnect();
    }
  }

  for (const driver of KAFKA_DRIVERS) {
    it(`writes the envelope as ce_ headers and content-type, user headers as they are (${driver} driver)`, async () => {
      const transport = makeTransport(endpoint.url, prefix, { partitions: 1, driver });
      open.push(transport);
      const topic = unique('out');
      const id = `m-${randomBytes(4).toString('hex')}`;
      await transport.publish([{ id, topic, key: 'k', headers: { ...envelope(id), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-user': 'u' }, body: body('{"n":1}') }]);
      const record = await firstRecord(`${prefix}${topic}`);
      const headers = Object.fromEntries(Object.entries(record.headers ?? {}).map(([name, value]) => [name, String(value)]));
      expect(headers).toEqual({
        ce_id: id,
        ce_source: 'urn:omnibus:wire-test',
        ce_type: 'wire.test',
        ce_time: '2026-12-04T18:00:00.000Z',
        ce_specversion: '1.0',
        'content-type': 'application/json',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-user': 'u',
      });
      expect(record.key?.toString()).toBe('k');
      expect(record.value?.toString()).toBe('{"n":1}');
    });
  }

  it('delivers a record a 0.1 producer wrote (ce- names) during a rolling upgrade: its id and headers under core names', async () => {
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(transport);
    const topic = unique('legacy');
    const log = new DeliveryLog();
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: () => {} });
    await produceRaw(`${prefix}${topic}`, { ...envelope('legacy-1'), 'x-user': 'u' }, '{"old":true}');
    const delivery = await log.waitFor((d) => d.message.id === 'legacy-1', 20_000, 'the 0.1 record');
    expect(delivery.message.headers).toEqual({ ...envelope('legacy-1'), 'x-user': 'u' });
    expect(text(delivery.message.body)).toBe('{"old":true}');
    await delivery.ack();

    // And what the new transport writes is read by it (the other half of a mixed fleet) alike.
    await transport.publish([{ id: 'new-1', topic, key: 'k', headers: envelope('new-1'), body: body('{"new":true}') }]);
    const fresh = await log.waitFor((d) => d.message.id === 'new-1', 20_000, 'the 0.2 record');
    expect(fresh.message.headers).toEqual(envelope('new-1'));
    await fresh.ack();
  });

  it('prefers ce_ over ce- on a record that carries both', async () => {
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(transport);
    const topic = unique('both');
    const log = new DeliveryLog();
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: () => {} });
    await produceRaw(`${prefix}${topic}`, { ...envelope('old-id'), ce_id: 'new-id', ce_type: 'new.type' }, '{}');
    const delivery = await log.waitFor(() => true, 20_000, 'the record');
    expect(delivery.message.id).toBe('new-id');
    expect(delivery.message.headers).toEqual({ ...envelope('new-id'), 'ce-type': 'new.type' });
    await delivery.ack();
  });
});
