// One real broker as the CLI tests use it: its URL, the transport options of the test file (a
// prefix of its own, so nothing of another run is seen or deleted, and short broker timeouts),
// the same options as `--option name=value` flags for the bin, a bus for the test's own side
// (the service whose dead letters the CLI reads) and the cleanup of everything under the prefix.
import { randomBytes } from 'node:crypto';
import { createBus, type Bus } from '@omnibus/core';
import { cleanUpKafka, deleteRedisPrefix, fastKafkaOptions, type AvailableBroker, type BrokerKind } from '@omnibus/test-support';
import { deleteStreams, uniquePrefixes } from '../../packages/nats/test/helpers.js';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';

export interface CliBroker {
  readonly kind: BrokerKind;
  readonly url: string;
  readonly options: Readonly<Record<string, unknown>>;
  /** `--url <url> --option a=1 --option b=2`: to put before the command. */
  readonly globalArgs: readonly string[];
  openBus(): Promise<Bus>;
  /** Delete every topic, group, stream and key under this file's prefix. */
  cleanup(): Promise<void>;
}

/**
 * Broker timeouts that decide how soon what a killed process held comes back: a dead letter held
 * by a SIGKILLed replay is redelivered after Redis' claimIdleMs (1 s here: it also makes a long read get
 * copies of what it holds, which the CLI must see once), NATS' ackWaitMs, Kafka's session
 * timeout, RabbitMQ at once (the connection closed).
 */
export function cliBroker(endpoint: AvailableBroker, label: string): CliBroker {
  const tag = `cli-${label}-${randomBytes(3).toString('hex')}`;
  const { options, cleanup } = perKind(endpoint, tag);
  const globalArgs = ['--url', endpoint.url, ...Object.entries(options).flatMap(([name, value]) => ['--option', `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`])];
  return {
    kind: endpoint.kind,
    url: endpoint.url,
    options,
    globalArgs,
    openBus: () => createBus({ url: endpoint.url, options }),
    cleanup,
  };
}

function perKind(endpoint: AvailableBroker, tag: string): { options: Record<string, unknown>; cleanup: () => Promise<void> } {
  switch (endpoint.kind) {
    case 'rabbitmq': {
      const prefix = `${tag}.`;
      return { options: { prefix }, cleanup: () => cleanupPrefix(endpoint.url, prefix) };
    }
    case 'kafka': {
      const prefix = `${tag}.`;
      return { options: { ...fastKafkaOptions, prefix }, cleanup: () => cleanUpKafka(endpoint.brokers, prefix) };
    }
    case 'redis': {
      const prefix = `${tag}:`;
      return { options: { prefix, claimIdleMs: 1_000, blockMs: 500 }, cleanup: () => deleteRedisPrefix(endpoint.url, prefix) };
    }
    case 'nats': {
      const { streamPrefix, subjectPrefix } = uniquePrefixes(tag.replace(/-/g, '_'));
      return { options: { streamPrefix, subjectPrefix, ackWaitMs: 3_000 }, cleanup: async () => void (await deleteStreams(endpoint.url, streamPrefix)) };
    }
  }
}
