// Peer side (`--peers`): Moleculer 0.14 with @moleculer/channels 0.1, the way its README sets it
// up: a ServiceBroker with the Channels middleware and one adapter (AMQP, Kafka, Redis, NATS),
// `broker.sendToChannel(topic, body)` to publish, a service with a `channels` entry (group,
// maxInFlight = concurrency) to consume. The adapter acks (AMQP ack, Kafka offset commit, XACK,
// JetStream ack) after the handler resolved. Configured as durably as each adapter allows:
//   AMQP   durable fanout exchange + durable queue `<group>.<topic>`, persistent messages; the adapter
//          publishes on a plain channel (no publisher confirms) and throws "Write buffer is full"
//          when amqplib's publish() returns false, so a publish resolves before the broker has it.
//   Kafka  kafkajs producer with its default acks=-1; the adapter commits every message's offset
//          itself (commitOffsets per message, autoCommit off).
//   Redis  Streams: XADD, a consumer group created by the subscription (startID 0), XACK per message.
//   NATS   JetStream (nats 2.x): a stream per channel (file storage, the server default), a durable
//          push consumer with explicit acks, max_ack_pending = maxInFlight; publish awaits the PubAck.
// Every broker and service lives in this process; there is no Moleculer transporter (none is
// needed for channels).
import { randomUUID } from 'node:crypto';
import channels from '@moleculer/channels';
import moleculer from 'moleculer';
import type { BrokerName } from '../lib/config.js';
import type { BenchBody } from '../lib/payload.js';
import { kafkaBrokers } from './kafka.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

/** Moleculer's adapter type names for the four brokers it has adapters for. */
const ADAPTERS: Partial<Record<BrokerName, string>> = { rabbitmq: 'AMQP', kafka: 'Kafka', redis: 'Redis', nats: 'NATS' };

export const moleculerBrokers = Object.keys(ADAPTERS) as BrokerName[];

/**
 * The channels AMQP adapter, except its client-version check: it reads `amqplib/package.json`,
 * which amqplib 2.x (the workspace's) does not export, so the check throws and Moleculer exits the
 * process. amqplib 2.x has the channel API the adapter calls; nothing else is changed.
 */
class AmqpAdapter extends channels.Adapters.AMQP {
  override checkClientLibVersion(): boolean {
    return true;
  }
}

type SendToChannel = (channel: string, payload: unknown, options?: Record<string, unknown>) => Promise<void>;

function adapterOptions(broker: BrokerName, url: string, concurrency: number): Record<string, unknown> {
  switch (broker) {
    case 'rabbitmq':
      // maxInFlight is the AMQP adapter's channel prefetch.
      return { maxInFlight: concurrency, amqp: { url, queueOptions: { durable: true }, exchangeOptions: { durable: true } } };
    case 'kafka':
      // A silent kafkajs logger (the adapter's default logs through Moleculer's, which is off anyway).
      return { maxInFlight: concurrency, kafka: { brokers: kafkaBrokers(url), logCreator: () => () => {} } };
    case 'redis':
      return { maxInFlight: concurrency, redis: { url } };
    case 'nats':
      // deliver_policy "all": the durable consumer reads what was published before it subscribed
      // (the adapter's default "new" would skip the backlog; on a fresh stream "all" is the same set).
      return { maxInFlight: concurrency, nats: { url, connectionOptions: {}, streamConfig: {}, consumerOptions: { config: { deliver_policy: 'all' } } } };
    default:
      throw new Error(`moleculer: no @moleculer/channels adapter for ${broker}`);
  }
}

/** Per-channel options of one subscription (the adapter-specific part of a `channels` entry). */
function channelOptions(broker: BrokerName, options: { partitions: number }, concurrency: number): Record<string, unknown> {
  switch (broker) {
    case 'kafka':
      return { kafka: { fromBeginning: true, partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions, concurrency)) } };
    case 'redis':
      // Read the stream from its start: the backlog is published before the consumer subscribes.
      return { redis: { startID: '0' } };
    default:
      return {};
  }
}

export function moleculerSide(broker: BrokerName, url: string, options: { concurrency: number; partitions: number }): Side {
  const type = ADAPTERS[broker];
  if (!type) throw new Error(`moleculer: no @moleculer/channels adapter for ${broker}`);
  const adapter = (concurrency: number) => {
    const opts = adapterOptions(broker, url, concurrency);
    return broker === 'rabbitmq' ? new AmqpAdapter(opts as ConstructorParameters<typeof AmqpAdapter>[0]) : { type, options: opts };
  };
  const makeBroker = (concurrency: number) =>
    new moleculer.ServiceBroker({
      nodeID: `omnibench-mol-${randomUUID().slice(0, 8)}`,
      // BENCH_MOLECULER_LOG=1: Moleculer's console logger (to see why a broker or adapter fails).
      logger: process.env.BENCH_MOLECULER_LOG ? { type: 'Console', options: { level: 'warn' } } : false,
      transporter: null,
      metrics: false,
      tracing: false,
      skipProcessEventRegistration: true,
      // The adapter options are checked by the adapter; its typings require every default.
      middlewares: [channels.Middleware({ adapter: adapter(concurrency) } as unknown as Parameters<typeof channels.Middleware>[0]) as unknown as moleculer.Middleware],
    });
  let publishing: moleculer.ServiceBroker | undefined;
  const brokers = new Set<moleculer.ServiceBroker>();

  /** A broker with one service consuming `target`; started (so subscribed) when this resolves. */
  async function subscribed(target: Target, concurrency: number, onBody: (body: BenchBody) => void): Promise<moleculer.ServiceBroker> {
    const b = makeBroker(concurrency);
    brokers.add(b);
    b.createService({
      name: `bench-${randomUUID().slice(0, 8)}`,
      channels: {
        [target.topic]: {
          group: target.group,
          maxInFlight: concurrency,
          context: false,
          ...channelOptions(broker, options, concurrency),
          handler(payload: BenchBody) {
            onBody(payload);
          },
        },
      },
    } as moleculer.ServiceSchema);
    try {
      await b.start();
    } catch (error) {
      brokers.delete(b);
      await b.stop().catch(() => {});
      throw error;
    }
    return b;
  }

  const stop = async (b: moleculer.ServiceBroker) => {
    brokers.delete(b);
    await b.stop().catch(() => {});
  };

  return {
    kind: 'moleculer',
    ...(broker === 'rabbitmq' ? { note: 'publishes without publisher confirms' } : {}),
    async connect() {
      if (publishing) return;
      const b = makeBroker(options.concurrency);
      await b.start();
      publishing = b;
    },
    async prepare(target) {
      // Kafka: the topic is created up front for every side and the group reads from the beginning.
      if (broker === 'kafka') return;
      // Elsewhere the subscription creates what keeps messages for the group (AMQP exchange, queue
      // and binding; the Redis stream and group; the NATS stream and durable consumer), as deploying
      // the consuming service first would.
      await stop(await subscribed(target, options.concurrency, () => {}));
    },
    async publisher(target): Promise<Publisher> {
      if (!publishing) throw new Error('moleculer: connect() first');
      const send = (publishing as unknown as { sendToChannel: SendToChannel }).sendToChannel.bind(publishing);
      const sendOptions = broker === 'rabbitmq' ? { persistent: true } : {};
      return {
        async sendBatch(bodies) {
          await Promise.all(bodies.map((body) => send(target.topic, body, sendOptions)));
        },
        sendOne: (body) => send(target.topic, body, sendOptions),
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const b = await subscribed(target, concurrency, onBody);
      return { close: () => stop(b) };
    },
    async close() {
      await Promise.allSettled([...brokers].map(stop));
      await publishing?.stop().catch(() => {});
      publishing = undefined;
    },
  };
}
