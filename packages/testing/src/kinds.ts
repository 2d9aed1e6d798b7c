// The broker kinds, where each is looked for, and the container image of each.

/** The services `startBroker` finds or starts. */
export type BrokerKind = 'rabbitmq' | 'kafka' | 'redis' | 'nats' | 'postgres' | 'amqp10' | 'sqs';

export const BROKER_KINDS: readonly BrokerKind[] = ['rabbitmq', 'kafka', 'redis', 'nats', 'postgres', 'amqp10', 'sqs'];

/** Where a broker came from: an override in the environment, one already running, a container, a local process. */
export type BrokerSource = 'env' | 'running' | 'container' | 'local';

export const BROKER_SOURCES: readonly BrokerSource[] = ['env', 'running', 'container', 'local'];

export interface BrokerDefaults {
  /** The environment variable with an override address (the Omnibus repository's test names). */
  readonly envVar: string;
  /** The port looked at on 127.0.0.1 for one already running. */
  readonly port: number;
  /** Human name, for messages. */
  readonly title: string;
}

export const BROKER_DEFAULTS: Readonly<Record<BrokerKind, BrokerDefaults>> = {
  rabbitmq: { envVar: 'OMNIBUS_TEST_AMQP_URL', port: 5672, title: 'RabbitMQ' },
  kafka: { envVar: 'OMNIBUS_TEST_KAFKA_BROKERS', port: 9092, title: 'Kafka' },
  redis: { envVar: 'OMNIBUS_TEST_REDIS_URL', port: 6379, title: 'Redis' },
  nats: { envVar: 'OMNIBUS_TEST_NATS_URL', port: 4222, title: 'NATS (JetStream)' },
  postgres: { envVar: 'OMNIBUS_TEST_POSTGRES_URL', port: 5432, title: 'PostgreSQL' },
  amqp10: { envVar: 'OMNIBUS_TEST_AMQP10_URL', port: 5673, title: 'ActiveMQ Artemis (AMQP 1.0)' },
  sqs: { envVar: 'OMNIBUS_TEST_SQS_URL', port: 9324, title: 'ElasticMQ (SQS)' },
};

export interface BrokerImage {
  /** The official image, the same as the repository's docker-compose.yml. */
  readonly image: string;
  /** The client port inside the container. */
  readonly port: number;
}

/** The image `startBroker` runs for each kind when it starts a container (kept equal to docker-compose.yml by a test). */
export const BROKER_IMAGES: Readonly<Record<BrokerKind, BrokerImage>> = {
  rabbitmq: { image: 'rabbitmq:3-management', port: 5672 },
  kafka: { image: 'apache/kafka:3.9.1', port: 9092 },
  redis: { image: 'redis:7', port: 6379 },
  nats: { image: 'nats:2.9-alpine', port: 4222 },
  postgres: { image: 'postgres:15', port: 5432 },
  amqp10: { image: 'apache/activemq-artemis:2.40.0', port: 5672 },
  sqs: { image: 'softwaremill/elasticmq-native:1.7.1', port: 9324 },
};

/** The URL of a `kind` broker at host:port (Kafka: `kafka://` and every address). */
export function brokerUrl(kind: BrokerKind, host: string, port: number): string {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (kind) {
    case 'rabbitmq':
      return `amqp://guest:guest@${address}`;
    case 'kafka':
      return `kafka://${address}`;
    case 'redis':
      return `redis://${address}`;
    case 'nats':
      return `nats://${address}`;
    case 'postgres':
      return `postgres://postgres@${address}/test`;
    case 'amqp10':
      return `amqp10://artemis:artemis@${address}`;
    case 'sqs':
      return `sqs://${address}?region=elasticmq`;
  }
}

export interface ParsedAddress {
  readonly host: string;
  readonly port: number;
}

/** The addresses in an override (a URL, or for Kafka `host:port[,host:port…]` with or without `kafka://`). */
export function parseAddresses(value: string, defaultPort: number): ParsedAddress[] {
  const trimmed = value.trim();
  // kafka://a:1,b:2 is one URL with several hosts: split after the scheme.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(trimmed)?.[0] ?? '';
  const rest = trimmed.slice(scheme.length);
  const hostsPart = scheme ? (rest.split(/[/?#]/)[0] ?? '') : rest;
  const auth = hostsPart.lastIndexOf('@');
  const hosts = (auth >= 0 ? hostsPart.slice(auth + 1) : hostsPart).split(',').map((part) => part.trim()).filter(Boolean);
  return hosts.map((part) => {
    const url = new URL(`tcp://${part}`);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || defaultPort) };
  });
}

export const formatAddress = ({ host, port }: ParsedAddress): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;
