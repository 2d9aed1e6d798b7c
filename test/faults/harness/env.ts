// The environments the per-transport fault files run in.
import { describe, it } from 'vitest';
import {
  brokerAddress,
  freePort,
  isCI,
  privateBrokerUnavailable,
  startKafka,
  TcpProxy,
  viaProxy,
  type PrivateBroker,
  type PrivateBrokerKind,
} from '@omnibus/test-support';
import type { FaultEnv } from './suite.js';

/** Start a private broker once, on first use; `close()` stops it if it was started. */
export function lazyBroker(start: () => Promise<PrivateBroker>): { get: () => Promise<PrivateBroker>; close: () => Promise<void> } {
  let started: Promise<PrivateBroker> | undefined;
  return {
    get: () => (started ??= start()),
    close: async () => {
      if (started) await (await started.catch(() => undefined))?.close();
    },
  };
}

/**
 * A proxy in front of a shared broker (`url`, found by describeWithBroker) for the connection
 * scenarios, and a private broker of the same kind, started on first use, for the restart scenario.
 */
export async function sharedBrokerEnv(url: string, defaultPort: number, kind: PrivateBrokerKind, startPrivate: () => Promise<PrivateBroker>): Promise<FaultEnv> {
  const proxy = await TcpProxy.start(brokerAddress(url, defaultPort));
  const privateBroker = lazyBroker(startPrivate);
  const unavailable = privateBrokerUnavailable(kind);
  return {
    proxy,
    url: viaProxy(url, proxy),
    sharedBroker: true,
    restartable: unavailable
      ? undefined
      : async () => {
          const broker = await privateBroker.get();
          return { broker, url: broker.url };
        },
    noRestartReason: unavailable,
    close: async () => {
      await proxy.close();
      await privateBroker.close();
    },
  };
}

/**
 * A private Kafka behind a proxy for every scenario. Kafka clients connect to the address the broker
 * advertises, not the bootstrap one, so a proxy in front of the shared broker (advertising
 * 127.0.0.1:9092) would only see the first connection; this broker advertises the proxy's port.
 */
export async function privateKafkaEnv(): Promise<FaultEnv> {
  const advertisedPort = await freePort();
  const broker = await startKafka({ advertisedPort });
  let proxy: TcpProxy;
  try {
    proxy = await TcpProxy.start({ host: '127.0.0.1', port: broker.port }, { port: advertisedPort });
  } catch (error) {
    await broker.close();
    throw error;
  }
  return {
    proxy,
    url: broker.url,
    sharedBroker: false,
    restartable: () => Promise.resolve({ broker, url: broker.url }),
    close: async () => {
      await proxy.close();
      await broker.close();
    },
  };
}

/**
 * `describe` when the private-broker prerequisite holds; otherwise a failing test with CI=true and
 * a skipped suite locally (as describeWithBroker does for shared brokers).
 */
export function describeIf(available: boolean, reason: string, name: string, fn: () => void): void {
  if (available) describe(name, fn);
  else if (isCI()) describe(name, () => it('prerequisite', () => { throw new Error(reason); }));
  else {
    console.warn(`[faults] skipping ${name}: ${reason}`);
    describe.skip(name, () => it(reason, () => undefined));
  }
}
