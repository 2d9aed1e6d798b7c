// Raw RabbitMQ with amqplib, written as a careful user would: a fanout exchange per topic,
// a durable queue per group, persistent messages on a confirm channel with a bounded window
// (publish() returning false waits for 'drain'), consumer prefetch = concurrency, one ack per message.
import amqp, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { decodeBody, encodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

export const queueName = (target: Target) => `${target.topic}.${target.group}`;

/**
 * Publish properties. With --raw-envelope, the envelope as a raw amqplib user would carry it: id,
 * type and content type in the AMQP properties, the other CloudEvents attributes in the headers table.
 */
function publishOptions(topic: string, envelope: boolean): Options.Publish {
  if (!envelope) return { persistent: true, contentType: 'application/json' };
  // envelopeHeaders always sets these three.
  const { 'ce-id': messageId, 'ce-type': type, 'content-type': contentType, ...rest } = envelopeHeaders(topic) as Record<string, string> & { 'ce-id': string; 'ce-type': string; 'content-type': string };
  return { persistent: true, contentType, messageId, type, headers: rest };
}

export function rawRabbitSide(url: string, options: { rawEnvelope: boolean }): Side {
  let connection: ChannelModel | undefined;
  let confirm: ConfirmChannel | undefined;
  const open = () => {
    if (!connection || !confirm) throw new Error('raw rabbitmq: connect() first');
    return { connection, confirm };
  };

  async function declare(channel: ConfirmChannel, target: Target): Promise<void> {
    await channel.assertExchange(target.topic, 'fanout', { durable: true });
    await channel.assertQueue(queueName(target), { durable: true });
    await channel.bindQueue(queueName(target), target.topic, '');
  }

  return {
    kind: 'raw',
    async connect() {
      connection ??= await amqp.connect(url);
      confirm ??= await connection.createConfirmChannel();
    },
    async prepare(target) {
      await declare(open().confirm, target);
    },
    async publisher(target): Promise<Publisher> {
      const channel = open().confirm;
      let drained: Promise<void> | undefined;
      const waitDrain = () => (drained ??= new Promise<void>((resolve) => channel.once('drain', () => ((drained = undefined), resolve()))));
      const publish = (body: BenchBody, done: (err: unknown) => void) =>
        channel.publish(target.topic, '', encodeBody(body), publishOptions(target.topic, options.rawEnvelope), done);

      return {
        async sendBatch(bodies) {
          // One counter per batch instead of a promise per message.
          let resolve!: () => void;
          let reject!: (e: unknown) => void;
          const confirmed = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
          let pending = bodies.length;
          const done = (err: unknown) => {
            if (err) return reject(err instanceof Error ? err : new Error('message nacked by the broker'));
            if (--pending === 0) resolve();
          };
          for (const body of bodies) {
            if (drained) await drained;
            if (!publish(body, done)) await waitDrain();
          }
          await confirmed;
        },
        sendOne(body) {
          return new Promise<void>((resolve, reject) => {
            publish(body, (err) => (err ? reject(err instanceof Error ? err : new Error('message nacked by the broker')) : resolve()));
          });
        },
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const channel = await open().connection.createChannel();
      await channel.prefetch(concurrency);
      const { consumerTag } = await channel.consume(queueName(target), (msg) => {
        if (!msg) return;
        onBody(decodeBody(msg.content));
        channel.ack(msg);
      });
      return {
        async close() {
          await channel.cancel(consumerTag).catch(() => {});
          await channel.close().catch(() => {});
        },
      };
    },
    async close() {
      await connection?.close().catch(() => {});
      connection = undefined;
      confirm = undefined;
    },
  };
}
