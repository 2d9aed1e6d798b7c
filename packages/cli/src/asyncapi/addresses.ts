import type { Protocol } from './servers.js';

/**
 * Where each transport keeps a topic, with its documented default names (an option such as
 * `prefix` changes them: pass the same `--option` as the services do).
 */
export interface TopicAddress {
  /** The channel address: the exchange, Kafka topic, Redis stream key or NATS subject. */
  readonly address: string;
  /** AsyncAPI channel bindings for the protocol, where AsyncAPI defines them. */
  readonly bindings: Record<string, unknown> | undefined;
}

const text = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

export function topicAddress(protocol: Protocol | undefined, topic: string, options: Readonly<Record<string, unknown>>, vhost: string | undefined): TopicAddress {
  switch (protocol) {
    case 'amqp':
    case 'amqps': {
      const exchange = `${text(options.prefix, '')}${topic}`;
      return {
        address: exchange,
        bindings: { amqp: { is: 'routingKey', exchange: { name: exchange, type: 'topic', durable: true, autoDelete: false, vhost: vhost ?? '/' }, bindingVersion: '0.3.0' } },
      };
    }
    case 'kafka':
    case 'kafka-secure': {
      const name = `${text(options.prefix, '')}${topic}`;
      const partitions = typeof options.partitions === 'number' ? { partitions: options.partitions } : {};
      return { address: name, bindings: { kafka: { topic: name, ...partitions, bindingVersion: '0.5.0' } } };
    }
    case 'redis':
    case 'rediss':
      return { address: `${text(options.prefix, 'omnibus:')}topic:${topic}`, bindings: undefined };
    case 'nats':
      return { address: `${text(options.subjectPrefix, 'omnibus')}.${topic}`, bindings: undefined };
    default:
      return { address: topic, bindings: undefined };
  }
}
