/**
 * CloudEvents interoperability on the wire: what an Omnibus bus writes is a CloudEvent to the
 * CloudEvents JavaScript SDK (Kafka binding), or carries the AMQP binding's names (the SDK has no
 * AMQP binding: the names are checked with a raw amqplib consumer and the attributes validated
 * as a CloudEvent); and a CloudEvent another producer writes is an Omnibus message.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { CloudEvent, Kafka as CloudEventsKafka, type CloudEventV1, type KafkaMessage as CloudEventsKafkaMessage } from 'cloudevents';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import { connect, type ConsumeMessage } from 'amqplib';
import { createBus, defineTopic, handlerSpy, withTimeout, type Bus } from '@omnibus/core';
import { kafka } from '@omnibus/kafka';
import { rabbitmq } from '@omnibus/rabbitmq';
import { cleanUpKafka, describeWithBroker, fastKafkaOptions } from '@omnibus/test-support';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';

const Order = z.object({ order: z.string(), total: z.number(), lines: z.array(z.object({ sku: z.string(), qty: z.number() })) });
type Order = z.infer<typeof Order>;
const order: Order = { order: 'o-1', total: 42.5, lines: [{ sku: 'é-1', qty: 2 }] };
const SOURCE = 'urn:omnibus:interop-test';
const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

const buses: Bus[] = [];
afterEach(async () => {
  await Promise.allSettled(buses.splice(0).map((bus) => bus.close({ timeoutMs: 2_000 })));
});

describeWithBroker('kafka', 'CloudEvents interop: Kafka protocol binding', (endpoint) => {
  const prefix = `omnibus-interop-${randomBytes(3).toString('hex')}.`;
  const raw = new Kafka({ brokers: [...endpoint.brokers], logLevel: logLevel.NOTHING });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  const openBus = async () => {
    const bus = await createBus({ transport: kafka({ url: endpoint.url, ...fastKafkaOptions, prefix, partitions: 1 }), source: SOURCE });
    buses.push(bus);
    return bus;
  };

  /** The first record of a Kafka topic, read with a plain kafkajs consumer. */
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

  it('the cloudevents SDK reads an Omnibus message taken from Kafka with a raw client: same id, source, type, time, specversion, datacontenttype and data', async () => {
    const bus = await openBus();
    const topic = defineTopic(unique('orders'), Order);
    const before = Date.now();
    const id = await bus.publish(topic, order, { key: 'o-1', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });

    const record = await firstRecord(`${prefix}${topic.name}`);
    const headers = Object.fromEntries(Object.entries(record.headers ?? {}).map(([name, value]) => [name, String(value)]));
    const value = record.value as Buffer;
    const key = record.key?.toString() ?? '';
    const message: CloudEventsKafkaMessage = { headers, key, value, body: value, timestamp: record.timestamp };
    expect(CloudEventsKafka.isEvent(message)).toBe(true);
    const event = CloudEventsKafka.toEvent(message) as CloudEventV1<Order> & { partitionkey?: string };
    expect(Array.isArray(event)).toBe(false);
    expect(event.id).toBe(id);
    expect(event.source).toBe(SOURCE);
    expect(event.type).toBe(topic.name);
    expect(event.specversion).toBe('1.0');
    expect(event.datacontenttype).toBe('application/json');
    expect(event.data).toEqual(order);
    expect(event.partitionkey).toBe('o-1');
    // The time Omnibus wrote (ce_time), which the SDK normalises to ISO 8601: the same instant.
    expect(event.time).toBe(headers.ce_time);
    expect(Date.parse(event.time as string)).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(event.time as string)).toBeLessThanOrEqual(Date.now() + 1_000);
    // A valid CloudEvent by the SDK's own schema check, and no attribute the SDK could not place.
    expect(new CloudEvent(event as CloudEventV1<Order>).validate()).toBe(true);
    // Exactly the binding's headers, plus the user's traceparent: nothing in core's HTTP-binding names.
    expect(Object.keys(headers).sort()).toEqual(['ce_id', 'ce_source', 'ce_specversion', 'ce_time', 'ce_type', 'content-type', 'traceparent']);
  });

  it('an Omnibus subscriber reads a CloudEvent the SDK encoded for Kafka (binary mode), written with a raw producer', async () => {
    const bus = await openBus();
    const topic = defineTopic(unique('from-sdk'), Order);
    const spy = handlerSpy<Order>();
    await bus.subscribe(topic, spy.handler, { group: 'readers' });

    const event = new CloudEvent<Order>({ id: unique('evt'), source: 'urn:other:producer', type: topic.name, time: '2026-12-04T18:30:00.000Z', datacontenttype: 'application/json', data: order, partitionkey: 'o-1' });
    const message = CloudEventsKafka.binary(event);
    const producer = raw.producer();
    await producer.connect();
    try {
      const headers = Object.fromEntries(Object.entries(message.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
      await producer.send({ topic: `${prefix}${topic.name}`, messages: [{ key: String(message.key), value: JSON.stringify(message.value), headers }] });
    } finally {
      await producer.disconnect();
    }
    const call = await spy.waitForMessageWithId(event.id, { timeoutMs: 20_000 });
    expect(call.message.body).toEqual(order);
    expect(call.message.key).toBe('o-1');
    expect(call.message.publishedAt.toISOString()).toBe('2026-12-04T18:30:00.000Z');
    expect(call.message.envelope).toMatchObject({ 'ce-id': event.id, 'ce-source': 'urn:other:producer', 'ce-type': topic.name, 'ce-specversion': '1.0', 'content-type': 'application/json' });
  });
});

describeWithBroker('rabbitmq', 'CloudEvents interop: AMQP protocol binding on RabbitMQ', (endpoint) => {
  const prefix = `it-ce-${randomBytes(3).toString('hex')}.`;
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  const openBus = async () => {
    const bus = await createBus({ transport: rabbitmq({ url: endpoint.url, prefix }), source: SOURCE });
    buses.push(bus);
    return bus;
  };

  it('writes the binding: cloudEvents_ application properties (headers table) and the content-type property, which make a valid CloudEvent', async () => {
    const bus = await openBus();
    const topic = defineTopic(unique('orders'), Order);
    await bus.ensureGroup(topic, 'raw');
    const id = await bus.publish(topic, order, { key: 'o-1', headers: { traceparent: 'tp' } });

    const connection = await connect(endpoint.url);
    let delivered: ConsumeMessage;
    try {
      const channel = await connection.createChannel();
      delivered = await withTimeout(
        new Promise<ConsumeMessage>((resolve) => {
          void channel.consume(`${prefix}${topic.name}.raw`, (message) => message && resolve(message), { noAck: true });
        }),
        20_000,
        () => new Error('no message on the raw queue'),
      );
    } finally {
      await connection.close();
    }
    const table = delivered.properties.headers ?? {};
    expect(table).toMatchObject({ cloudEvents_id: id, cloudEvents_source: SOURCE, cloudEvents_type: topic.name, cloudEvents_specversion: '1.0', traceparent: 'tp' });
    expect(typeof table.cloudEvents_time).toBe('string');
    expect(delivered.properties.contentType).toBe('application/json');
    // None of core's HTTP-binding names in the table.
    expect(Object.keys(table).filter((name) => name.startsWith('ce-') || name === 'content-type')).toEqual([]);
    expect(JSON.parse(delivered.content.toString('utf8'))).toEqual(order);

    // Read as the binding says (strip the prefix; content-type is datacontenttype): a valid CloudEvent.
    const attributes = Object.fromEntries(Object.entries(table).filter(([name]) => name.startsWith('cloudEvents_')).map(([name, value]) => [name.slice('cloudEvents_'.length), String(value)]));
    const event = new CloudEvent({ ...attributes, datacontenttype: delivered.properties.contentType as string, data: JSON.parse(delivered.content.toString('utf8')) as Order }, false);
    expect(event.validate()).toBe(true);
    expect(event.id).toBe(id);
  });

  it('an Omnibus subscriber reads a CloudEvent another AMQP producer wrote with the binding (cloudEvents: separator)', async () => {
    const bus = await openBus();
    const topic = defineTopic(unique('from-amqp'), Order);
    const spy = handlerSpy<Order>();
    await bus.subscribe(topic, spy.handler, { group: 'readers' });
    const connection = await connect(endpoint.url);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish(`${prefix}${topic.name}`, 'any', Buffer.from(JSON.stringify(order)), {
        contentType: 'application/json',
        headers: { 'cloudEvents:id': 'amqp-evt-1', 'cloudEvents:source': 'urn:other:amqp', 'cloudEvents:type': topic.name, 'cloudEvents:specversion': '1.0', 'cloudEvents:time': '2026-12-04T18:30:00.000Z' },
      });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    // No message-id property: the CloudEvents id is the message's id.
    const call = await spy.waitForMessageWithId('amqp-evt-1', { timeoutMs: 20_000 });
    expect(call.message.body).toEqual(order);
    expect(call.message.publishedAt.toISOString()).toBe('2026-12-04T18:30:00.000Z');
    expect(call.message.envelope).toMatchObject({ 'ce-source': 'urn:other:amqp', 'ce-type': topic.name, 'ce-specversion': '1.0', 'content-type': 'application/json' });
  });
});
