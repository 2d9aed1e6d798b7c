// Typed transport factories (`createBus({ transport: redis({ url, ... }) })`), on memory and on the
// four real brokers: a bus made from a factory connects, carries a message both ways and closes
// the transport it created; a misspelled option (a JavaScript caller's, TypeScript refuses it, see
// factories.types.ts) is a ConfigError naming the key; and the password of the factory's URL never
// appears in the connection error or the log when the broker cannot be reached (a wrong port).
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  createBus,
  defineTopic,
  handlerSpy,
  isOmnibusError,
  isTransportFactory,
  loadTransportModule,
  memory,
  MemoryBroker,
  transportFactory,
  type Bus,
  type TransportFactory,
} from '@omnibus/core';
import { kafka, type KafkaFactoryConfig } from '@omnibus/kafka';
import { nats, type NatsFactoryConfig } from '@omnibus/nats';
import { rabbitmq, type RabbitMQFactoryConfig } from '@omnibus/rabbitmq';
import { redis, type RedisFactoryConfig } from '@omnibus/redis';
import { brokerAddress, cleanUpKafka, deleteRedisPrefix, describeWithBroker, fastKafkaOptions, freePort, recordingLogger, type AvailableBroker } from '@omnibus/test-support';
import { deleteStreams, uniquePrefixes } from '../../packages/nats/test/helpers.js';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';
import { scanForLeaks, scanLog } from '../credentials/leak-scan.js';
import { forbiddenForms } from '../credentials/password-forms.js';

const Ping = z.object({ n: z.number() });
const tag = (): string => randomBytes(4).toString('hex');

/** `/ @ : ? # %`, a space and unicode, percent-encoded into the URL (so the URL is valid and the failure is the connection's). */
const PASSWORD = `tf-p@ss/w:rd?#% ü-${tag()}`;
const PASSWORD_IN_URL = encodeURIComponent(PASSWORD);
const FORBIDDEN = forbiddenForms({ password: PASSWORD, written: 'encoded', inUrl: PASSWORD_IN_URL });

interface FactoryCases {
  /** A factory for the running broker. */
  readonly good: () => TransportFactory;
  /** A factory with one misspelled option, as a JavaScript caller could make it. */
  readonly misspelled: () => TransportFactory;
  /** The field the ConfigError must name for it. */
  readonly misspelledField: string;
  /** A factory whose URL holds PASSWORD_IN_URL and a port nothing listens on (brokers only). */
  readonly unreachable?: (port: number) => TransportFactory;
}

async function roundTrip(bus: Bus): Promise<void> {
  const topic = defineTopic(`tf-${tag()}`, Ping);
  const spy = handlerSpy<z.infer<typeof Ping>>();
  const subscription = await bus.subscribe(topic, spy.handler, { group: 'g' });
  await bus.publish(topic, { n: 7 });
  const [call] = await spy.waitForCount(1, { timeoutMs: 30_000 });
  expect(call?.message.body).toEqual({ n: 7 });
  await subscription.close();
}

function describeFactory(cases: FactoryCases): void {
  it('creates, connects and owns the transport: one message round trip, bus.close closes it', async () => {
    const factory = cases.good();
    expect(isTransportFactory(factory)).toBe(true);
    const bus = await createBus({ transport: factory });
    try {
      expect(bus.transport.health?.().state).toBe('connected');
      await roundTrip(bus);
    } finally {
      await bus.close();
    }
    expect(bus.transport.health?.().state).toBe('closed');
  });

  it('a misspelled option is a ConfigError naming the key (the factory itself neither validates nor connects)', async () => {
    const factory = cases.misspelled();
    const error = await createBus({ transport: factory }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(cases.misspelledField);
    expect((error as ConfigError).message).toContain(cases.misspelledField.split('.').at(-1));
  });

  const unreachable = cases.unreachable;
  if (!unreachable) return;
  it("the URL's password never shows in the connection error nor the log (wrong port)", async () => {
    const logger = recordingLogger();
    const error = await createBus({ transport: unreachable(await freePort()), logger }).then(
      async (bus) => {
        await bus.close();
        throw new Error('createBus connected to a port nothing listens on');
      },
      (e: unknown) => e,
    );
    expect(isOmnibusError(error, 'CONNECTION_FAILED'), String(error)).toBe(true);
    expect([...scanForLeaks(error, 'error', FORBIDDEN), ...scanLog(logger.entries, FORBIDDEN)]).toEqual([]);
  });
}

describe('transport factory: memory()', () => {
  describeFactory({
    good: () => memory(),
    misspelled: () => memory({ brokr: new MemoryBroker() } as never),
    misspelledField: 'options.brokr',
  });

  it('createBus takes a factory by itself, and memory({ broker }) shares one broker between buses', async () => {
    const broker = new MemoryBroker();
    const producer = await createBus(memory({ broker }));
    const worker = await createBus({ transport: memory({ broker }) });
    try {
      const topic = defineTopic(`tf-${tag()}`, Ping);
      const spy = handlerSpy<z.infer<typeof Ping>>();
      await worker.subscribe(topic, spy.handler, { group: 'g' });
      await producer.publish(topic, { n: 1 });
      await spy.waitForCount(1, { timeoutMs: 5_000 });
    } finally {
      await Promise.all([producer.close(), worker.close()]);
    }
  });

  it('url or options beside a factory is a ConfigError naming that field', async () => {
    const withUrl = await createBus({ transport: memory(), url: 'memory://' } as never).catch((e: unknown) => e);
    expect(withUrl).toBeInstanceOf(ConfigError);
    expect((withUrl as ConfigError).field).toBe('config.url');
    const withOptions = await createBus({ transport: memory(), options: {} } as never).catch((e: unknown) => e);
    expect(withOptions).toBeInstanceOf(ConfigError);
    expect((withOptions as ConfigError).field).toBe('config.options');
  });

  it("a factory's secrets are scrubbed from what its transport throws and logs, even where they are not in a URL", async () => {
    // A careless third-party transport: it logs and throws its password as bare text.
    const careless = transportFactory('careless', { url: `careless://user:${PASSWORD_IN_URL}@host`, secretKey: PASSWORD }, (init) => {
      init.logger.warn({ url: init.url }, `connecting with ${PASSWORD}`);
      throw new Error(`${PASSWORD} refused`);
    });
    const logger = recordingLogger();
    const error = await createBus({ transport: careless, logger }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('*** refused');
    expect(logger.entries.length).toBe(1);
    expect([...scanForLeaks(error, 'error', FORBIDDEN), ...scanLog(logger.entries, FORBIDDEN)]).toEqual([]);
  });
});

describe('transport packages by URL scheme', () => {
  it('amqp10:// and sqs:// name their packages (@omnibus/amqp10, @omnibus/sqs)', async () => {
    for (const [name, pkg] of [
      ['amqp10', '@omnibus/amqp10'],
      ['sqs', '@omnibus/sqs'],
    ] as const) {
      const missing = Object.assign(new Error(`Cannot find package '${pkg}' imported from /app/index.js`), { code: 'ERR_MODULE_NOT_FOUND' });
      const error = await loadTransportModule(name, () => Promise.reject(missing)).catch((e: unknown) => e);
      expect(isOmnibusError(error, 'TRANSPORT_NOT_INSTALLED')).toBe(true);
      expect((error as Error).message).toContain(`npm install ${pkg}`);
    }
    for (const url of ['amqp10://h:5672', 'amqp10s://h:5671', 'sqs://sqs.eu-west-1.amazonaws.com/123/q']) {
      const error = await createBus({ url, options: { tf: 'not an option' } }).catch((e: unknown) => e);
      // Whatever the package does with the URL (installed or not), the scheme itself is known.
      expect(String((error as Error | undefined)?.message), url).not.toMatch(/cannot choose a transport/);
    }
  });
});

describeWithBroker('rabbitmq', 'transport factory: rabbitmq()', (endpoint: AvailableBroker) => {
  const { host } = brokerAddress(endpoint.url, 5672);
  const prefix = `tf-${tag()}.`;
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });
  describeFactory({
    good: () => rabbitmq({ url: endpoint.url, prefix, connectTimeoutMs: 5_000 }),
    misspelled: () => rabbitmq({ url: endpoint.url, prefix, prefecth: 10 } as RabbitMQFactoryConfig),
    misspelledField: 'options.prefecth',
    unreachable: (wrongPort) => rabbitmq({ url: `amqp://guest:${PASSWORD_IN_URL}@${host}:${wrongPort}`, prefix, connectTimeoutMs: 2_000 }),
  });
});

describeWithBroker('kafka', 'transport factory: kafka()', (endpoint: AvailableBroker) => {
  const prefix = `tf-${tag()}.`;
  const url = `kafka://${endpoint.brokers.join(',')}`;
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });
  describeFactory({
    good: () => kafka({ url, prefix, ...fastKafkaOptions }),
    misspelled: () => kafka({ url, prefix, partitons: 2 } as KafkaFactoryConfig),
    misspelledField: 'options.partitons',
    unreachable: (wrongPort) => kafka({ url: `kafka://omnibus:${PASSWORD_IN_URL}@127.0.0.1:${wrongPort}`, prefix, retries: 0, brokerConnectTimeoutMs: 1_000, connectTimeoutMs: 3_000 }),
  });
});

describeWithBroker('redis', 'transport factory: redis()', (endpoint: AvailableBroker) => {
  const { host } = brokerAddress(endpoint.url, 6379);
  const prefix = `tf-${tag()}:`;
  afterAll(async () => {
    await deleteRedisPrefix(endpoint.url, prefix);
  });
  describeFactory({
    good: () => redis({ url: endpoint.url, prefix, blockMs: 100 }),
    misspelled: () => redis({ url: endpoint.url, prefix, claimIdleMss: 1_000 } as RedisFactoryConfig),
    misspelledField: 'options.claimIdleMss',
    unreachable: (wrongPort) => redis({ url: `redis://default:${PASSWORD_IN_URL}@${host}:${wrongPort}`, prefix, connectTimeoutMs: 2_000 }),
  });
});

describeWithBroker('nats', 'transport factory: nats()', (endpoint: AvailableBroker) => {
  const { host } = brokerAddress(endpoint.url, 4222);
  const prefixes = uniquePrefixes('tf');
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });
  describeFactory({
    good: () => nats({ url: endpoint.url, ...prefixes }),
    misspelled: () => nats({ url: endpoint.url, ...prefixes, ackWaitMss: 5_000 } as NatsFactoryConfig),
    misspelledField: 'options.ackWaitMss',
    unreachable: (wrongPort) => nats({ url: `nats://omnibus:${PASSWORD_IN_URL}@${host}:${wrongPort}`, ...prefixes, connectTimeoutMs: 2_000 }),
  });
});
