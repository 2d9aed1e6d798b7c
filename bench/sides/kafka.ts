// Raw Kafka with kafkajs, written as a careful user would: an idempotent producer with acks=-1,
// messages sent in batches; consumer with eachBatch, resolveOffset per message, and
// commitOffsetsIfNecessary + heartbeat after each batch, committing at most every 100 ms
// (autoCommitInterval; the Omnibus transport's default commitIntervalMs is also 100 ms), so a
// trickle of one-message batches does not pay a commit round trip each.
//
// kafkajs' idempotent producer must not have two send() calls in flight at once: concurrent sends
// get OUT_OF_ORDER_SEQUENCE_NUMBER or are silently dropped (tulios/kafkajs#598, #1005). So the
// producer here runs one send at a time and coalesces whatever was queued meanwhile into the next
// send, which is also what keeps single-message latency low at a steady rate.
import { Kafka, logLevel, Partitioners, type Admin, type Consumer as KafkaConsumer, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { decodeBody, encodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side } from './types.js';

/** `kafka://h1:9092,h2:9092` → ['h1:9092', 'h2:9092']. */
export function kafkaBrokers(url: string): string[] {
  return url
    .replace(/^kafkas?:\/\//i, '')
    .replace(/[/?].*$/, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function kafkaClient(url: string, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers(url), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
}

/** Create a topic with this many partitions (both sides use pre-created topics of the same shape). */
export async function createKafkaTopic(url: string, topic: string, partitions: number): Promise<void> {
  const admin = kafkaClient(url, 'omnibench-admin').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

interface Queued<M> {
  readonly messages: M[];
  resolve(): void;
  reject(error: unknown): void;
}

/** One send in flight; everything queued meanwhile goes out in the next send (either raw client). */
export function serialSender<M>(sendAll: (messages: M[]) => Promise<unknown>): (messages: M[]) => Promise<void> {
  const queue: Queued<M>[] = [];
  let sending = false;
  const pump = async () => {
    if (sending) return;
    sending = true;
    while (queue.length > 0) {
      const group = queue.splice(0, queue.length);
      try {
        await sendAll(group.flatMap((q) => q.messages));
        for (const q of group) q.resolve();
      } catch (error) {
        for (const q of group) q.reject(error);
      }
    }
    sending = false;
  };
  return (messages) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ messages, resolve, reject });
      void pump();
    });
}

/** What a consumer reading the envelope does with a record's headers: every value as a string. */
function readHeaders(message: KafkaMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in message.headers) headers[name] = String(message.headers[name]);
  return headers;
}

export function rawKafkaSide(url: string, options: { partitions: number; rawEnvelope: boolean }): Side {
  const kafka = kafkaClient(url, 'omnibench-raw');
  let producer: Producer | undefined;
  let admin: Admin | undefined;
  const consumers = new Set<KafkaConsumer>();

  return {
    kind: 'raw',
    async connect() {
      // Connect once to fail fast when the broker is down; the producer is made lazily.
      if (!admin) {
        admin = kafka.admin();
        await admin.connect();
      }
    },
    async prepare() {
      // The group starts from the beginning of the topic (fromBeginning), so nothing to create.
    },
    async publisher(target): Promise<Publisher> {
      if (!producer) {
        producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
        await producer.connect();
      }
      const kafkajsProducer = producer;
      const send = serialSender<Message>((messages) => kafkajsProducer.send({ topic: target.topic, acks: -1, messages }));
      const toMessage = options.rawEnvelope
        ? (body: BenchBody): Message => ({ value: encodeBody(body), headers: envelopeHeaders(target.topic) })
        : (body: BenchBody): Message => ({ value: encodeBody(body) });
      return {
        sendBatch: (bodies) => send(bodies.map(toMessage)),
        sendOne: (body) => send([toMessage(body)]),
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const consumer = kafka.consumer({ groupId: target.group, maxBytesPerPartition: 1024 * 1024 });
      consumers.add(consumer);
      await consumer.connect();
      await consumer.subscribe({ topics: [target.topic], fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 100,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions, concurrency)),
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          for (const message of batch.messages) {
            if (!isRunning() || isStale()) break;
            if (options.rawEnvelope) readHeaders(message);
            if (message.value) onBody(decodeBody(message.value));
            resolveOffset(message.offset);
          }
          await commitOffsetsIfNecessary();
          await heartbeat();
        },
      });
      return {
        async close() {
          consumers.delete(consumer);
          await consumer.disconnect().catch(() => {});
        },
      };
    },
    async close() {
      await Promise.allSettled([...consumers].map((c) => c.disconnect()));
      consumers.clear();
      await producer?.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
      producer = undefined;
      admin = undefined;
    },
  };
}
