// startBroker on real brokers: the override, the brokers running on this machine, private
// redis-server / nats-server / postgres / Kafka processes on free ports, the error listing, and the
// container source where a Docker engine answers.
import net from 'node:net';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { BROKER_DEFAULTS, BrokerUnavailableError, probeBroker, startBroker, type Broker, type BrokerKind } from '@omnibus/testing';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

async function redisRoundTrip(url: string): Promise<string | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const key = `omnibus-testing-${process.pid}-${Date.now().toString(36)}`;
    await redis.set(key, 'ok', 'EX', 60);
    const value = await redis.get(key);
    await redis.del(key);
    return value;
  } finally {
    redis.disconnect();
  }
}

async function rejection(promise: Promise<unknown>): Promise<BrokerUnavailableError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(BrokerUnavailableError);
  return error as BrokerUnavailableError;
}

/** Why no container engine is usable here, or undefined when one answers. */
async function noDocker(): Promise<string | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
const dockerUnavailable = await noDocker();

describe('env: the override in the environment', () => {
  it('uses OMNIBUS_TEST_REDIS_URL when it answers, and close() leaves that Redis alone', async () => {
    const broker = await startBroker('redis', { env: { OMNIBUS_TEST_REDIS_URL: 'redis://127.0.0.1:6379' } });
    expect(broker.source).toBe('env');
    expect(broker.url).toBe('redis://127.0.0.1:6379');
    expect(broker.owned).toBe(false);
    expect(broker.attempts).toEqual([{ source: 'env', ok: true, detail: 'OMNIBUS_TEST_REDIS_URL=redis://127.0.0.1:6379: Redis answered PING with PONG' }]);
    await broker.close();
    expect(await redisRoundTrip(broker.url)).toBe('ok');
  });

  it('reads OMNIBUS_TEST_KAFKA_BROKERS as host:port and gives a kafka:// URL and the bootstrap list', async () => {
    await using broker = await startBroker('kafka', { env: { OMNIBUS_TEST_KAFKA_BROKERS: '127.0.0.1:9092' } });
    expect(broker).toMatchObject({ source: 'env', url: 'kafka://127.0.0.1:9092', addresses: ['127.0.0.1:9092'], host: '127.0.0.1', port: 9092 });
  });

  it('fails at once, without trying other sources, when the override does not answer', async () => {
    const port = await freePort();
    const error = await rejection(startBroker('redis', { env: { OMNIBUS_TEST_REDIS_URL: `redis://:secret@127.0.0.1:${port}` } }));
    expect(error.attempts.map((attempt) => attempt.source)).toEqual(['env']);
    expect(error.message).toContain(`OMNIBUS_TEST_REDIS_URL=redis://:***@127.0.0.1:${port} does not answer`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('unset OMNIBUS_TEST_REDIS_URL');
    expect(error.message).not.toContain('secret');
  });
});

describe('running: a broker at the default address', () => {
  const kinds: BrokerKind[] = ['rabbitmq', 'kafka', 'redis', 'nats', 'postgres', 'amqp10', 'sqs'];
  it.each(kinds)('%s: found by its protocol probe on the default port, after the unset override', async (kind) => {
    const broker = await startBroker(kind, { env: {} });
    expect(broker.source).toBe('running');
    expect(broker.port).toBe(BROKER_DEFAULTS[kind].port);
    expect(broker.attempts.map(({ source, ok }) => [source, ok])).toEqual([
      ['env', false],
      ['running', true],
    ]);
    expect(broker.attempts[0]?.detail).toBe(`${BROKER_DEFAULTS[kind].envVar} is not set`);
    await broker.close();
    // Not ours: still there.
    expect((await probeBroker(kind, { host: broker.host, port: broker.port }, broker.url, 2_000)).ok).toBe(true);
  });

  it('the Redis it finds serves commands', async () => {
    await using broker = await startBroker('redis', { env: {} });
    expect(await redisRoundTrip(broker.url)).toBe('ok');
  });

  it('tells a port held by another protocol from the broker: Redis is not a Kafka', async () => {
    const error = await rejection(startBroker('kafka', { env: {}, sources: ['running'], address: '127.0.0.1:6379', probeTimeoutMs: 500 }));
    expect(error.attempts).toHaveLength(1);
    // Redis waits for the end of an inline command that never comes: no ApiVersions answer.
    expect(error.attempts[0]?.detail).toBe('nothing ready at 127.0.0.1:6379: no answer from 127.0.0.1:6379 within 500 ms');
    expect(error.message).toContain('- running: nothing ready at 127.0.0.1:6379');
  });
});

describe('local: a server process of its own', () => {
  async function expectStopped(broker: Broker): Promise<void> {
    await broker.close();
    const after = await probeBroker(broker.kind, { host: broker.host, port: broker.port }, broker.url, 2_000);
    expect(after).toMatchObject({ ok: false, reason: expect.stringContaining('ECONNREFUSED') as string });
  }

  it('redis: starts redis-server on a free port when nothing runs at the address asked, and stops it on close', async () => {
    const port = await freePort();
    const broker = await startBroker('redis', { sources: ['running', 'local'], address: `127.0.0.1:${port}` });
    try {
      expect(broker.source).toBe('local');
      expect(broker.owned).toBe(true);
      expect(broker.port).not.toBe(6379);
      expect(broker.attempts[0]).toMatchObject({ source: 'running', ok: false, detail: expect.stringContaining(`127.0.0.1:${port}: ECONNREFUSED`) as string });
      expect(broker.attempts[1]?.detail).toMatch(/^redis-server :\d+ \(pid \d+\): Redis answered PING with PONG$/);
      expect(await redisRoundTrip(broker.url)).toBe('ok');
    } finally {
      await expectStopped(broker);
    }
  });

  it('nats: starts nats-server with JetStream, and stops it on close', async () => {
    const broker = await startBroker('nats', { sources: ['local'] });
    try {
      expect(broker.source).toBe('local');
      expect(broker.url).toBe(`nats://127.0.0.1:${broker.port}`);
      expect(broker.attempts[0]?.detail).toContain('JetStream answered $JS.API.INFO');
    } finally {
      await expectStopped(broker);
    }
  });

  it('postgres: initdb + postgres with the test database, and stops it on close', async () => {
    const broker = await startBroker('postgres', { sources: ['local'] });
    try {
      expect(broker.url).toBe(`postgres://postgres@127.0.0.1:${broker.port}/test`);
      expect(broker.attempts[0]?.detail).toContain('PostgreSQL ready for queries on database test');
    } finally {
      await expectStopped(broker);
    }
  });

  it('rabbitmq: a standalone rabbitmq-server node that takes guest logins on loopback, and stops it on close', async () => {
    const broker = await startBroker('rabbitmq', { sources: ['local'] });
    try {
      expect(broker.url).toBe(`amqp://guest:guest@127.0.0.1:${broker.port}`);
      const connection = await amqpConnect(broker.url);
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      expect(queue).toMatch(/^amq\.gen-/);
      await connection.close();
    } finally {
      await expectStopped(broker);
    }
  }, 150_000);

  it('kafka: a single-node KRaft broker from the Maven jars (cached), and stops it on close', async () => {
    const started = Date.now();
    const broker = await startBroker('kafka', { sources: ['local'] });
    try {
      expect(broker.url).toBe(`kafka://127.0.0.1:${broker.port}`);
      expect(broker.attempts[0]?.detail).toContain(`Kafka Metadata lists 1@127.0.0.1:${broker.port}`);
      expect(Date.now() - started).toBeLessThan(60_000);
    } finally {
      await expectStopped(broker);
    }
  }, 120_000);
});

describe('when nothing works', () => {
  it('rejects listing every source tried, why each failed, and how to fix it', async () => {
    const port = await freePort();
    // An empty environment: no override, and no PATH for a local redis-server.
    const error = await rejection(startBroker('redis', { env: {}, sources: ['env', 'running', 'local'], address: `127.0.0.1:${port}` }));
    expect(error.kind).toBe('redis');
    expect(error.attempts).toEqual([
      { source: 'env', ok: false, detail: 'OMNIBUS_TEST_REDIS_URL is not set' },
      { source: 'running', ok: false, detail: `nothing ready at 127.0.0.1:${port}: 127.0.0.1:${port}: ECONNREFUSED` },
      { source: 'local', ok: false, detail: expect.stringContaining('redis-server is not on the PATH') as string },
    ]);
    expect(error.message).toMatch(/^no Redis for the tests\. Tried:\n {2}- env: OMNIBUS_TEST_REDIS_URL is not set\n {2}- running: nothing ready at .*\n {2}- local: redis-server is not on the PATH/);
    expect(error.message).toContain(`To fix it, do one of: (1) set OMNIBUS_TEST_REDIS_URL to the address of a Redis you run; (2) start one at 127.0.0.1:${port}`);
    expect(error.message).toContain('install redis-server');
  });

  it('says there is no local start for Artemis', async () => {
    const error = await rejection(startBroker('amqp10', { env: {}, sources: ['local'] }));
    expect(error.attempts[0]?.detail).toContain('no local start for ActiveMQ Artemis');
  });

  it('rejects an unknown kind or source with a TypeError', async () => {
    await expect(startBroker('mqtt' as BrokerKind)).rejects.toThrow(TypeError);
    await expect(startBroker('redis', { sources: ['cloud' as 'env'] })).rejects.toThrow(/unknown broker source "cloud"/);
  });
});

describe('container: testcontainers', () => {
  if (dockerUnavailable) console.warn(`[@omnibus/testing] skipping the container start test: no Docker engine answers here (${dockerUnavailable})`);

  it.skipIf(dockerUnavailable !== undefined)(`starts a redis:7 container and removes it on close${dockerUnavailable ? ` (skipped: no Docker engine answers: ${dockerUnavailable})` : ''}`, async () => {
    const broker = await startBroker('redis', { sources: ['container'] });
    try {
      expect(broker.source).toBe('container');
      expect(broker.attempts[0]?.detail).toMatch(/^redis:7 container [0-9a-f]{12}: Redis answered PING with PONG$/);
      expect(await redisRoundTrip(broker.url)).toBe('ok');
    } finally {
      await broker.close();
    }
    expect((await probeBroker('redis', { host: broker.host, port: broker.port }, broker.url, 2_000)).ok).toBe(false);
  }, 180_000);

  it.runIf(dockerUnavailable !== undefined)('without a Docker engine, the container source fails saying so and the next source is tried', async () => {
    const broker = await startBroker('redis', { sources: ['container', 'local'] });
    try {
      expect(broker.source).toBe('local');
      expect(broker.attempts[0]).toMatchObject({ source: 'container', ok: false, detail: expect.stringContaining('no Docker engine answers') as string });
    } finally {
      await broker.close();
    }
  });
});
