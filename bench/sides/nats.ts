// Raw NATS JetStream with @nats-io/jetstream, written as a careful user would: a file-storage stream
// per topic, a durable pull consumer per group with explicit acks and max_ack_pending = concurrency;
// publishing keeps a window of PubAck promises in flight; the consumer uses consume() (pull batches
// of `concurrency` messages, refilled automatically) and acks every message.
import { AckPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { decodeBody, encodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

/** `nats://h:4222,h2:4222` → servers list for nats.js. */
export function natsServers(url: string): string[] {
  return url
    .replace(/^nats:\/\//i, '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Stream names may not contain dots; benchmark topics have none, but be safe. */
export const natsStreamName = (target: Target) => target.topic.replace(/[.*>\s]/g, '_');

function toNatsHeaders(values: Record<string, string>): MsgHdrs {
  const h = natsHeaders();
  for (const name in values) h.set(name, values[name] as string);
  return h;
}

export function rawNatsSide(url: string, options: { concurrency: number; rawEnvelope: boolean }): Side {
  let nc: NatsConnection | undefined;
  let js: JetStreamClient | undefined;
  let jsm: JetStreamManager | undefined;
  const open = () => {
    if (!nc || !js || !jsm) throw new Error('raw nats: connect() first');
    return { nc, js, jsm };
  };

  return {
    kind: 'raw',
    async connect() {
      if (nc) return;
      nc = await connect({ servers: natsServers(url) });
      js = jetstream(nc);
      jsm = await jetstreamManager(nc);
    },
    async prepare(target) {
      const { jsm } = open();
      const stream = natsStreamName(target);
      await jsm.streams.add({ name: stream, subjects: [target.topic], storage: StorageType.File });
      await jsm.consumers.add(stream, { durable_name: target.group, ack_policy: AckPolicy.Explicit, max_ack_pending: options.concurrency });
    },
    async publisher(target): Promise<Publisher> {
      const { js } = open();
      const publish = options.rawEnvelope
        ? (body: BenchBody) => js.publish(target.topic, encodeBody(body), { headers: toNatsHeaders(envelopeHeaders(target.topic)) })
        : (body: BenchBody) => js.publish(target.topic, encodeBody(body));
      return {
        async sendBatch(bodies) {
          await Promise.all(bodies.map(publish));
        },
        async sendOne(body) {
          await publish(body);
        },
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const { js } = open();
      const consumer = await js.consumers.get(natsStreamName(target), target.group);
      const messages = await consumer.consume({ max_messages: concurrency });
      const loop = (async () => {
        for await (const m of messages) {
          if (options.rawEnvelope && m.headers) for (const name of m.headers.keys()) m.headers.get(name);
          onBody(decodeBody(m.string()));
          m.ack();
        }
      })();
      loop.catch((error: unknown) => console.error('raw nats consumer failed:', error));
      return {
        async close() {
          await messages.close();
          await loop.catch(() => {});
        },
      };
    },
    async close() {
      await nc?.drain().catch(() => {});
      nc = undefined;
      js = undefined;
      jsm = undefined;
    },
  };
}
