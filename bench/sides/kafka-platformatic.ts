// Raw Kafka with @platformatic/kafka 1.22 (pinned as in @omnibus/kafka) (the Omnibus transport's default driver), written like the
// kafkajs raw side (kafka.ts): an idempotent producer with acks=-1 (the client allows one request
// per broker then), one send in flight with what was queued meanwhile coalesced into the next; a
// consumer group read through the client's MessagesStream from the committed offsets (else the
// earliest), autocommit every 100 ms. OMNIBUS_BENCH_KAFKA_RAW=platformatic picks this side.
import { Consumer as PlatformaticConsumer, Producer, type MessageToProduce } from '@platformatic/kafka';
import { decodeBody, encodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import { kafkaBrokers, serialSender } from './kafka.js';
import type { Consumer, Publisher, Side } from './types.js';

type Outgoing = MessageToProduce<Buffer, Buffer, Buffer, Buffer>;

export function rawPlatformaticKafkaSide(url: string, options: { rawEnvelope: boolean }): Side {
  const bootstrapBrokers = kafkaBrokers(url);
  let producer: Producer | undefined;
  const consumers = new Set<PlatformaticConsumer>();

  return {
    kind: 'raw',
    async connect() {
      producer ??= new Producer({ clientId: 'omnibench-raw-plt', bootstrapBrokers, idempotent: true, acks: -1, retries: 5 });
      // Fails fast when the broker is down.
      await producer.initIdempotentProducer({});
    },
    async prepare() {
      // The group starts from the beginning of the topic (fallback to earliest), so nothing to create.
    },
    async publisher(target): Promise<Publisher> {
      const client = producer as Producer;
      const send = serialSender<Outgoing>((messages) => client.send({ messages }));
      const toMessage = options.rawEnvelope
        ? (body: BenchBody): Outgoing => ({ topic: target.topic, value: encodeBody(body), headers: Object.fromEntries(Object.entries(envelopeHeaders(target.topic)).map(([k, v]) => [k, Buffer.from(v)])) })
        : (body: BenchBody): Outgoing => ({ topic: target.topic, value: encodeBody(body) });
      return {
        sendBatch: (bodies) => send(bodies.map(toMessage)),
        sendOne: (body) => send([toMessage(body)]),
      };
    },
    async consume(target, _concurrency, onBody): Promise<Consumer> {
      const consumer = new PlatformaticConsumer({ clientId: 'omnibench-raw-plt', bootstrapBrokers, groupId: target.group, maxBytes: 4 * 1024 * 1024, maxWaitTime: 500 });
      consumers.add(consumer);
      const stream = await consumer.consume({ topics: [target.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100 });
      stream.on('data', (message) => {
        if (options.rawEnvelope) for (const [, value] of message.headers) value.toString();
        if (message.value) onBody(decodeBody(message.value));
      });
      stream.on('error', () => {});
      return {
        async close() {
          consumers.delete(consumer);
          await new Promise<void>((resolve) => stream.close(() => resolve()));
          await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
        },
      };
    },
    async close() {
      await Promise.allSettled([...consumers].map((c) => new Promise<void>((resolve) => c.close(true, () => resolve()))));
      consumers.clear();
      await producer?.close().catch(() => {});
      producer = undefined;
    },
  };
}
