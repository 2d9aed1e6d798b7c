// Peer side (`--peers`): NestJS 11 microservices, the way its docs set them up: a microservice
// (`NestFactory.createMicroservice`) whose controller has one `@EventPattern(topic)` handler, and a
// `ClientProxy` (`ClientProxyFactory.create`) whose `emit` publishes. The decorators are applied as
// functions (the bench's TypeScript has no decorator syntax); the result is the same metadata.
// Configured as durably as each transport allows:
//   RMQ    (amqplib + amqp-connection-manager) a durable fanout exchange per topic and the same
//          durable queue `<topic>.<group>` as the raw side, bound to it; persistent messages on
//          amqp-connection-manager's confirm channel (emit resolves on the broker's confirm);
//          `noAck: false`, prefetchCount = concurrency, the handler acks each message.
//   Kafka  (kafkajs) emitBatch / emit: one producer.send each, kafkajs' default acks=-1; not
//          idempotent (Nest runs sends concurrently, which kafkajs' idempotent producer does not
//          allow). The server's eachMessage handler returns, kafkajs resolves the offset and
//          commits (autoCommitInterval 100 ms, as on the raw side).
//   Redis  (ioredis) PUBLISH/SUBSCRIBE: NOT DURABLE. Nothing keeps a message for a consumer that
//          is not subscribed at that moment, so the benchmark subscribes first (`durable: false`).
//   NATS   (nats 2.x) core NATS publish/subscribe with a queue group: NOT DURABLE, and a core
//          publish has no acknowledgement: a batch or single publish resolves after a flush
//          (the server answered a PING sent after it), the nearest thing to "the server has it".
import 'reflect-metadata';
import { Controller, Logger, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, Ctx, EventPattern, Payload, Transport, type ClientKafka, type ClientProxy, type MicroserviceOptions, type RmqContext } from '@nestjs/microservices';
import amqp, { type ChannelModel } from 'amqplib';
import { logLevel, Partitioners } from 'kafkajs';
import { lastValueFrom, type Observable } from 'rxjs';
import type { BrokerName } from '../lib/config.js';
import type { BenchBody } from '../lib/payload.js';
import { kafkaBrokers } from './kafka.js';
import { natsServers } from './nats.js';
import { queueName } from './rabbitmq.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

export const nestBrokers: readonly BrokerName[] = ['rabbitmq', 'kafka', 'redis', 'nats'];

// Nest's default logger writes to stdout, which carries the result table: errors only (to stderr).
Logger.overrideLogger(['error']);

interface Options {
  readonly concurrency: number;
  readonly partitions: number;
}

/** ioredis options from a redis:// URL (Nest's Redis transport takes host and port, not a URL). */
function redisOptions(url: string): Record<string, unknown> {
  const u = new URL(url);
  const db = Number(u.pathname.replace(/^\//, '') || 0);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db } : {}),
  };
}

const kafkaClientOptions = (url: string) => ({ clientId: 'omnibench-nest', brokers: kafkaBrokers(url), logLevel: logLevel.NOTHING });

/** The microservice (server) options that consume `target`. */
function serverOptions(broker: BrokerName, url: string, target: Target, concurrency: number, options: Options): MicroserviceOptions {
  switch (broker) {
    case 'rabbitmq':
      return {
        transport: Transport.RMQ,
        options: { urls: [url], queue: queueName(target), queueOptions: { durable: true }, exchange: target.topic, exchangeType: 'fanout', noAck: false, prefetchCount: concurrency },
      };
    case 'kafka':
      return {
        transport: Transport.KAFKA,
        options: {
          client: kafkaClientOptions(url),
          consumer: { groupId: target.group, maxBytesPerPartition: 1024 * 1024 },
          postfixId: '',
          subscribe: { fromBeginning: true },
          run: { autoCommitInterval: 100, partitionsConsumedConcurrently: Math.max(1, Math.min(options.partitions, concurrency)) },
        },
      };
    case 'redis':
      return { transport: Transport.REDIS, options: redisOptions(url) };
    case 'nats':
      return { transport: Transport.NATS, options: { servers: natsServers(url), queue: target.group } };
    default:
      throw new Error(`nestjs: no microservices transport for ${broker} in this benchmark`);
  }
}

function clientFor(broker: BrokerName, url: string, target: Target): ClientProxy {
  switch (broker) {
    case 'rabbitmq':
      return ClientProxyFactory.create({ transport: Transport.RMQ, options: { urls: [url], queue: queueName(target), exchange: target.topic, exchangeType: 'fanout', persistent: true } });
    case 'kafka':
      return ClientProxyFactory.create({
        transport: Transport.KAFKA,
        options: { client: kafkaClientOptions(url), producerOnlyMode: true, producer: { createPartitioner: Partitioners.DefaultPartitioner } },
      }) as unknown as ClientProxy;
    case 'redis':
      return ClientProxyFactory.create({ transport: Transport.REDIS, options: redisOptions(url) });
    case 'nats':
      return ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: natsServers(url) } });
    default:
      throw new Error(`nestjs: no microservices transport for ${broker} in this benchmark`);
  }
}

/** A module with one controller whose event handler for `topic` calls `onBody` (and acks on RMQ). */
function handlerModule(broker: BrokerName, topic: string, onBody: (body: BenchBody) => void): new () => object {
  class BenchController {
    handle(body: BenchBody, context: unknown): void {
      onBody(body);
      if (broker === 'rabbitmq') {
        const rmq = context as RmqContext;
        (rmq.getChannelRef() as { ack(message: unknown): void }).ack(rmq.getMessage());
      }
    }
  }
  const descriptor = Object.getOwnPropertyDescriptor(BenchController.prototype, 'handle') as PropertyDescriptor;
  EventPattern(topic)(BenchController.prototype, 'handle', descriptor);
  Payload()(BenchController.prototype, 'handle', 0);
  Ctx()(BenchController.prototype, 'handle', 1);
  Controller()(BenchController);
  class BenchModule {}
  Module({ controllers: [BenchController] })(BenchModule);
  return BenchModule;
}

const settled = (source: Observable<unknown>) => lastValueFrom(source, { defaultValue: undefined }).then(() => {});

export function nestSide(broker: BrokerName, url: string, options: Options): Side {
  if (!nestBrokers.includes(broker)) throw new Error(`nestjs: no microservices transport for ${broker} in this benchmark`);
  const durable = broker === 'rabbitmq' || broker === 'kafka';
  const apps = new Set<INestMicroservice>();
  let declarer: ChannelModel | undefined;
  const clients = new Map<string, ClientProxy>();

  async function listening(target: Target, concurrency: number, onBody: (body: BenchBody) => void): Promise<INestMicroservice> {
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(handlerModule(broker, target.topic, onBody), { ...serverOptions(broker, url, target, concurrency, options), logger: ['error'] });
    apps.add(app);
    try {
      await app.listen();
    } catch (error) {
      apps.delete(app);
      await app.close().catch(() => {});
      throw error;
    }
    return app;
  }
  const closeApp = async (app: INestMicroservice) => {
    apps.delete(app);
    await app.close().catch(() => {});
  };

  /** One client per topic on RMQ (the exchange is part of its options); one for all elsewhere. */
  async function client(target: Target): Promise<ClientProxy> {
    const key = broker === 'rabbitmq' ? target.topic : '';
    let c = clients.get(key);
    if (!c) {
      c = clientFor(broker, url, target);
      clients.set(key, c);
      await c.connect();
    }
    return c;
  }

  return {
    kind: 'nestjs',
    durable,
    ...(broker === 'redis' ? { note: 'Redis transport is pub/sub' } : broker === 'nats' ? { note: 'core NATS, no JetStream' } : broker === 'kafka' ? { note: 'acks=-1, not idempotent' } : {}),
    async connect() {
      // Fail fast when the broker is down: connect the shared client (Kafka, Redis, NATS) now.
      if (broker !== 'rabbitmq') await client({ topic: '', group: '' });
    },
    async prepare(target) {
      // RMQ: what the microservice declares when it starts (ServerRMQ.setupChannel: the durable
      // queue, the durable fanout exchange, the binding), declared up front, as deploying the
      // consumer first would. (Not by starting and closing a microservice: ServerRMQ does not await
      // its consume call, and closing right after listen() rejects that call unhandled.)
      // Kafka: topics are created up front, the group reads from the beginning.
      // Redis and NATS pub/sub keep nothing, so there is nothing to prepare.
      if (broker !== 'rabbitmq') return;
      declarer ??= await amqp.connect(url);
      const channel = await declarer.createChannel();
      try {
        await channel.assertQueue(queueName(target), { durable: true });
        await channel.assertExchange(target.topic, 'fanout', { durable: true, arguments: {} });
        await channel.bindQueue(queueName(target), target.topic, '');
      } finally {
        await channel.close().catch(() => {});
      }
    },
    async publisher(target): Promise<Publisher> {
      const c = await client(target);
      if (broker === 'nats') {
        const flush = () => c.unwrap<{ flush(): Promise<void> }>().flush();
        return {
          async sendBatch(bodies) {
            await Promise.all(bodies.map((body) => settled(c.emit(target.topic, body))));
            await flush();
          },
          async sendOne(body) {
            await settled(c.emit(target.topic, body));
            await flush();
          },
        };
      }
      if (broker === 'kafka') {
        const kafka = c as ClientKafka;
        return {
          sendBatch: (bodies) => settled(kafka.emitBatch(target.topic, { messages: [...bodies] })),
          sendOne: (body) => settled(kafka.emit(target.topic, body)),
        };
      }
      return {
        async sendBatch(bodies) {
          await Promise.all(bodies.map((body) => settled(c.emit(target.topic, body))));
        },
        sendOne: (body) => settled(c.emit(target.topic, body)),
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const app = await listening(target, concurrency, onBody);
      return { close: () => closeApp(app) };
    },
    async close() {
      await Promise.allSettled([...apps].map(closeApp));
      await Promise.allSettled([...clients.values()].map((c) => c.close()));
      clients.clear();
      await declarer?.close().catch(() => {});
      declarer = undefined;
    },
  };
}
