// One round trip per broker with its raw client: proves the broker that `npm run brokers:up`
// found or started is usable, independent of any omnibus package.
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { Kafka, Partitioners, logLevel, type logCreator } from 'kafkajs';
import { connect as natsConnect } from '@nats-io/transport-node';
import { RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { expect, it } from 'vitest';

describeWithBroker('rabbitmq', 'rabbitmq smoke (amqplib)', (endpoint) => {
  it('publishes with a confirm channel and gets the message back', async () => {
    const connection = await amqpConnect(endpoint.url);
    try {
      const channel = await connection.createConfirmChannel();
      const queue = uniqueName('smoke-amqp');
      await channel.assertQueue(queue, { exclusive: true, autoDelete: true });
      const body = `hello ${queue}`;
      channel.sendToQueue(queue, Buffer.from(body), { persistent: false });
      await channel.waitForConfirms();
      const message = await channel.get(queue, { noAck: true });
      expect(message && message.content.toString()).toBe(body);
      await channel.deleteQueue(queue);
      await channel.close();
    } finally {
      await connection.close();
    }
  });
});

// kafkajs logs (and then retries) the transient "group coordinator is not available" while a fresh
// broker creates __consumer_offsets; everything else at WARN and above is printed.
const kafkaLog: logCreator = () => ({ namespace, level, log }) => {
  const { message, error, ...extra } = log as { message: string; error?: string };
  if (error === 'The group coordinator is not available') return;
  console.warn(`[kafkajs ${logLevel[level]}] ${namespace}: ${message}${error ? ` (${error})` : ''}`, extra);
};

describeWithBroker('kafka', 'kafka smoke (kafkajs)', (endpoint) => {
  it('creates a topic, produces one message and consumes it', async () => {
    const topic = uniqueName('smoke-kafka');
    const kafka = new Kafka({ clientId: 'omnibus-smoke', brokers: endpoint.brokers, logLevel: logLevel.WARN, logCreator: kafkaLog });
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: `${topic}-group` });
    await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })).toBe(true);
      const value = `hello ${topic}`;
      await producer.send({ topic, acks: -1, messages: [{ key: 'k', value }] });

      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const received = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
      });
      expect(await received).toBe(value);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});

describeWithBroker('redis', 'redis smoke (ioredis streams)', (endpoint) => {
  it('XADDs one entry and XREADs it back', async () => {
    const redis = new Redis(endpoint.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const key = uniqueName('smoke-redis');
    try {
      const id = await redis.xadd(key, '*', 'body', `hello ${key}`);
      const result = await redis.xread('COUNT', 1, 'STREAMS', key, '0');
      expect(result).toEqual([[key, [[id, ['body', `hello ${key}`]]]]]);
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });
});

describeWithBroker('nats', 'nats smoke (JetStream)', (endpoint) => {
  it('creates a stream, publishes one message and consumes it', async () => {
    const nc = await natsConnect({ servers: endpoint.url });
    const stream = uniqueName('smoke_nats').replace(/-/g, '_');
    const subject = `${stream}.events`;
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.Memory, retention: RetentionPolicy.Limits });
      const js = jetstream(nc);
      const ack = await js.publish(subject, `hello ${stream}`);
      expect(ack.seq).toBe(1);
      const consumer = await js.consumers.get(stream); // ordered consumer from the start of the stream
      const message = await consumer.next({ expires: 10_000 });
      expect(message?.string()).toBe(`hello ${stream}`);
      await jsm.streams.delete(stream);
    } finally {
      await nc.close();
    }
  });
});
