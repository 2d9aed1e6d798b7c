// The six brokers: how to reach them, their raw side, and the Omnibus side's options.
import type { BrokerName } from '../lib/config.js';
import { rawAmqp10Side } from './amqp10.js';
import { createKafkaTopic, rawKafkaSide } from './kafka.js';
import { rawPlatformaticKafkaSide } from './kafka-platformatic.js';
import { moleculerBrokers, moleculerSide } from './moleculer.js';
import { rawNatsSide } from './nats.js';
import { nestBrokers, nestSide } from './nestjs.js';
import { omnibusSide } from './omnibus.js';
import { rawRabbitSide } from './rabbitmq.js';
import { rawRedisSide } from './redis.js';
import { rawSqsSide } from './sqs.js';
import type { AnySideKind, PeerKind, Side } from './types.js';

export interface SideOptions {
  readonly concurrency: number;
  readonly partitions: number;
  /** --raw-envelope: the raw side carries (and reads) Omnibus' six envelope headers too. */
  readonly rawEnvelope: boolean;
}

/** The port of a URL without one (the probe's TCP check); sqs: HTTPS. */
export const DEFAULT_PORTS: Record<BrokerName, number> = { rabbitmq: 5672, kafka: 9092, redis: 6379, nats: 4222, amqp10: 5672, sqs: 443 };

/**
 * Transport options for the Omnibus side, from OMNIBUS_BENCH_<BROKER>_OPTIONS (JSON), default none:
 * the benchmark measures the transports as users get them.
 */
export function omnibusOptions(broker: BrokerName, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const raw = env[`OMNIBUS_BENCH_${broker.toUpperCase()}_OPTIONS`];
  if (!raw) return {};
  const parsed = JSON.parse(raw) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`OMNIBUS_BENCH_${broker.toUpperCase()}_OPTIONS must be a JSON object`);
  return parsed as Record<string, unknown>;
}

/** The brokers each peer framework (`--peers`) has a transport or adapter for. */
export const PEER_BROKERS: Record<PeerKind, readonly BrokerName[]> = { moleculer: moleculerBrokers, nestjs: nestBrokers };

export function makeSide(broker: BrokerName, kind: AnySideKind, url: string, options: SideOptions): Side {
  if (kind === 'omnibus') return omnibusSide(url, omnibusOptions(broker));
  if (kind === 'moleculer') return moleculerSide(broker, url, options);
  if (kind === 'nestjs') return nestSide(broker, url, options);
  switch (broker) {
    case 'rabbitmq':
      return rawRabbitSide(url, options);
    case 'kafka':
      // OMNIBUS_BENCH_KAFKA_RAW=platformatic: the raw side on @platformatic/kafka instead of kafkajs.
      return process.env.OMNIBUS_BENCH_KAFKA_RAW === 'platformatic' ? rawPlatformaticKafkaSide(url, options) : rawKafkaSide(url, options);
    case 'redis':
      return rawRedisSide(url, options);
    case 'nats':
      return rawNatsSide(url, options);
    case 'amqp10':
      return rawAmqp10Side(url, options);
    case 'sqs':
      return rawSqsSide(url, options);
  }
}

/** Broker-side setup both sides share, before either touches the topic (Kafka: partitions). */
export async function setupTopic(broker: BrokerName, url: string, topic: string, options: SideOptions): Promise<void> {
  if (broker === 'kafka') await createKafkaTopic(url, topic, options.partitions);
}
