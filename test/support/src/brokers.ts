// Where the test brokers are, and vitest helpers that run, skip or fail suites depending on whether
// the broker answers. Brokers are found/started by `npm run brokers:up` (scripts/brokers.mjs);
// this module only looks: a quick TCP check per broker kind, cached for the process.
import { randomBytes } from 'node:crypto';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import { describe, it } from 'vitest';

export type BrokerKind = 'rabbitmq' | 'kafka' | 'redis' | 'nats';

export const BROKER_KINDS: readonly BrokerKind[] = ['rabbitmq', 'kafka', 'redis', 'nats'];

export interface AvailableBroker {
  available: true;
  kind: BrokerKind;
  /** amqp://guest:guest@127.0.0.1:5672, kafka://127.0.0.1:9092, redis://127.0.0.1:6379, nats://127.0.0.1:4222 (or the override). */
  url: string;
  /** host:port of every configured address (Kafka: the bootstrap brokers for kafkajs). */
  brokers: string[];
}

export interface UnavailableBroker {
  available: false;
  kind: BrokerKind;
  /** What was looked for, what happened and what to do about it. */
  reason: string;
}

export type BrokerEndpoint = AvailableBroker | UnavailableBroker;

/**
 * PostgreSQL is not a broker but is found, started and skipped the same way (the outbox and the
 * idempotency store need it). Its own kind, so `BROKER_KINDS` and `Record<BrokerKind, …>` stay the four brokers.
 */
export type PostgresKind = 'postgres';

export interface AvailablePostgres {
  available: true;
  kind: PostgresKind;
  /** postgres://postgres@127.0.0.1:5432/test (or OMNIBUS_TEST_POSTGRES_URL): a pg connection string. */
  url: string;
  /** host:port of the server. */
  brokers: string[];
}

export interface UnavailablePostgres {
  available: false;
  kind: PostgresKind;
  reason: string;
}

export type PostgresEndpoint = AvailablePostgres | UnavailablePostgres;

/**
 * ActiveMQ Artemis over AMQP 1.0 (`@omnibus/amqp10`): a kind of its own, not in `BROKER_KINDS` yet
 * (tests that loop over the four brokers stay as they are). amqp10://artemis:artemis@127.0.0.1:5673.
 */
export type Amqp10Kind = 'amqp10';

export interface AvailableAmqp10 {
  available: true;
  kind: Amqp10Kind;
  /** amqp10://artemis:artemis@127.0.0.1:5673 (or OMNIBUS_TEST_AMQP10_URL). */
  url: string;
  brokers: string[];
}

export interface UnavailableAmqp10 {
  available: false;
  kind: Amqp10Kind;
  reason: string;
}

export type Amqp10Endpoint = AvailableAmqp10 | UnavailableAmqp10;

/**
 * Amazon SQS through an SQS-compatible server (ElasticMQ, `@omnibus/sqs`): a kind of its own, not in
 * `BROKER_KINDS` yet. sqs://127.0.0.1:9324?region=elasticmq (credentials: any, given as options).
 */
export type SqsKind = 'sqs';

export interface AvailableSqs {
  available: true;
  kind: SqsKind;
  /** sqs://127.0.0.1:9324?region=elasticmq (or OMNIBUS_TEST_SQS_URL). */
  url: string;
  brokers: string[];
}

export interface UnavailableSqs {
  available: false;
  kind: SqsKind;
  reason: string;
}

export type SqsEndpoint = AvailableSqs | UnavailableSqs;

type ServiceKind = BrokerKind | PostgresKind | Amqp10Kind | SqsKind;

interface BrokerConfig {
  envVar: string;
  defaultUrl: string;
  defaultPort: number;
}

const CONFIG: Record<ServiceKind, BrokerConfig> = {
  rabbitmq: { envVar: 'OMNIBUS_TEST_AMQP_URL', defaultUrl: 'amqp://guest:guest@127.0.0.1:5672', defaultPort: 5672 },
  kafka: { envVar: 'OMNIBUS_TEST_KAFKA_BROKERS', defaultUrl: '127.0.0.1:9092', defaultPort: 9092 },
  redis: { envVar: 'OMNIBUS_TEST_REDIS_URL', defaultUrl: 'redis://127.0.0.1:6379', defaultPort: 6379 },
  nats: { envVar: 'OMNIBUS_TEST_NATS_URL', defaultUrl: 'nats://127.0.0.1:4222', defaultPort: 4222 },
  postgres: { envVar: 'OMNIBUS_TEST_POSTGRES_URL', defaultUrl: 'postgres://postgres@127.0.0.1:5432/test', defaultPort: 5432 },
  amqp10: { envVar: 'OMNIBUS_TEST_AMQP10_URL', defaultUrl: 'amqp10://artemis:artemis@127.0.0.1:5673', defaultPort: 5673 },
  sqs: { envVar: 'OMNIBUS_TEST_SQS_URL', defaultUrl: 'sqs://127.0.0.1:9324?region=elasticmq', defaultPort: 9324 },
};

const PROBE_TIMEOUT_MS = 1_500;

export const isCI = (): boolean => process.env.CI === 'true' || process.env.CI === '1';

export interface HostPort {
  host: string;
  port: number;
}

function parseAddresses(value: string, defaultPort: number): HostPort[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const u = new URL(s.includes('://') ? s : `tcp://${s}`);
      return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort) };
    });
}

/** Host (an IPv6 one without brackets) and port of the first address in a broker URL; `defaultPort` when it has none. */
export function brokerAddress(url: string, defaultPort: number): HostPort {
  const [first] = parseAddresses(url, defaultPort);
  if (!first) throw new Error('the broker URL names no address');
  return first;
}

/** The configured address of a broker kind (env override or default), without checking it. */
export function configuredBroker(kind: ServiceKind): { url: string; brokers: string[]; override: boolean; envVar: string } {
  const { envVar, defaultUrl, defaultPort } = CONFIG[kind];
  const override = process.env[envVar]?.trim();
  const raw = override || defaultUrl;
  const addresses = parseAddresses(raw, defaultPort);
  const brokers = addresses.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`));
  const url = kind === 'kafka' ? `kafka://${brokers.join(',')}` : raw;
  return { url, brokers, override: Boolean(override), envVar };
}

// A TCP connect is asynchronous, but suites must be registered synchronously at collection time.
// So the check runs in a short-lived worker thread while this thread waits on a shared flag
// (the same trick as the `synckit` package). No broker protocol is spoken here: scripts/brokers.mjs
// does the protocol-level checks.
const PROBE_WORKER = `
const net = require('node:net');
const { workerData } = require('node:worker_threads');
const { addresses, timeoutMs, port, flag } = workerData;
const tryOne = ({ host, port: p }) => new Promise((resolve) => {
  const socket = net.createConnection({ host, port: p });
  const done = (error) => { clearTimeout(timer); socket.destroy(); resolve(error); };
  const timer = setTimeout(() => done('no answer within ' + timeoutMs + ' ms'), timeoutMs);
  socket.once('connect', () => done(null));
  socket.once('error', (err) => done(err.code || err.message));
});
(async () => {
  const errors = [];
  for (const a of addresses) {
    const error = await tryOne(a);
    if (error === null) { port.postMessage({ ok: true }); break; }
    errors.push(a.host + ':' + a.port + ' ' + error);
  }
  if (errors.length === addresses.length) port.postMessage({ ok: false, errors });
  const f = new Int32Array(flag);
  Atomics.store(f, 0, 1);
  Atomics.notify(f, 0);
})();
`;

function tcpCheckSync(addresses: HostPort[]): { ok: true } | { ok: false; errors: string[] } {
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(PROBE_WORKER, {
    eval: true,
    workerData: { addresses, timeoutMs: PROBE_TIMEOUT_MS, port: port2, flag },
    transferList: [port2],
  });
  try {
    const waited = Atomics.wait(new Int32Array(flag), 0, 0, PROBE_TIMEOUT_MS * addresses.length + 5_000);
    const message = receiveMessageOnPort(port1)?.message as { ok: true } | { ok: false; errors: string[] } | undefined;
    if (message) return message;
    return { ok: false, errors: [waited === 'timed-out' ? 'reachability check timed out' : 'reachability check failed'] };
  } finally {
    port1.close();
    void worker.terminate();
  }
}

const cache = new Map<ServiceKind, BrokerEndpoint | PostgresEndpoint | Amqp10Endpoint | SqsEndpoint>();

/**
 * Where the `kind` test broker is, if it answers: a quick TCP check of the configured address
 * (OMNIBUS_TEST_AMQP_URL / OMNIBUS_TEST_KAFKA_BROKERS / OMNIBUS_TEST_REDIS_URL / OMNIBUS_TEST_NATS_URL /
 * OMNIBUS_TEST_POSTGRES_URL, else the 127.0.0.1 default), cached per process. Synchronous, so usable at
 * suite-collection time.
 */
export function brokerEndpoint(kind: BrokerKind): BrokerEndpoint;
export function brokerEndpoint(kind: PostgresKind): PostgresEndpoint;
export function brokerEndpoint(kind: Amqp10Kind): Amqp10Endpoint;
export function brokerEndpoint(kind: SqsKind): SqsEndpoint;
export function brokerEndpoint(kind: ServiceKind): BrokerEndpoint | PostgresEndpoint | Amqp10Endpoint | SqsEndpoint;
export function brokerEndpoint(kind: ServiceKind): BrokerEndpoint | PostgresEndpoint | Amqp10Endpoint | SqsEndpoint {
  const cached = cache.get(kind);
  if (cached) return cached;
  const cfg = configuredBroker(kind);
  const addresses = parseAddresses(cfg.brokers.join(','), CONFIG[kind].defaultPort);
  const check = tcpCheckSync(addresses);
  // The kind decides which of the two shapes this is; they only differ in `kind`'s type.
  const endpoint = (check.ok
    ? { available: true, kind, url: cfg.url, brokers: cfg.brokers }
    : {
        available: false,
        kind,
        reason:
          `nothing answers at ${cfg.brokers.join(', ')} (${check.errors.join('; ')}); tried a TCP connect to ` +
          (cfg.override ? `the address in ${cfg.envVar}` : `the default address (set ${cfg.envVar} to use another one)`) +
          '; run `npm run brokers:up` to find or start it',
      }) as BrokerEndpoint | PostgresEndpoint | Amqp10Endpoint | SqsEndpoint;
  cache.set(kind, endpoint);
  return endpoint;
}

const announced = new Set<ServiceKind>();

function announceSkip(kind: ServiceKind, reason: string): void {
  const marker = `OMNIBUS_TEST_SKIP_ANNOUNCED_${kind.toUpperCase()}`;
  if (announced.has(kind) || process.env[marker]) return;
  announced.add(kind);
  process.env[marker] = '1';
  console.warn(`[omnibus] skipping ${kind} suites: ${reason}`);
}

/**
 * `describe(name, () => fn(endpoint))` when the `kind` broker answers. Otherwise: with CI=true a
 * suite with one failing test that names the broker and what was tried; locally a skipped suite
 * (and one `[omnibus] skipping <kind> suites: <reason>` line per broker kind).
 */
export function describeWithBroker(kind: BrokerKind, name: string, fn: (endpoint: AvailableBroker) => void): void;
/** The same for PostgreSQL: `endpoint.url` is a connection string for pg. */
export function describeWithBroker(kind: PostgresKind, name: string, fn: (endpoint: AvailablePostgres) => void): void;
/** The same for ActiveMQ Artemis (AMQP 1.0): `endpoint.url` is an amqp10:// URL. */
export function describeWithBroker(kind: Amqp10Kind, name: string, fn: (endpoint: AvailableAmqp10) => void): void;
/** The same for SQS (ElasticMQ): `endpoint.url` is an sqs:// URL. */
export function describeWithBroker(kind: SqsKind, name: string, fn: (endpoint: AvailableSqs) => void): void;
export function describeWithBroker(kind: ServiceKind, name: string, fn: ((endpoint: AvailableBroker) => void) | ((endpoint: AvailablePostgres) => void) | ((endpoint: AvailableAmqp10) => void) | ((endpoint: AvailableSqs) => void)): void {
  const endpoint = brokerEndpoint(kind);
  if (endpoint.available) {
    // The overloads pair each kind with its endpoint type.
    describe(name, () => (fn as (endpoint: AvailableBroker | AvailablePostgres | AvailableAmqp10 | AvailableSqs) => void)(endpoint));
    return;
  }
  if (isCI()) {
    describe(name, () => {
      it(`needs a ${kind} broker`, () => {
        throw new Error(`${kind} broker unavailable with CI=true: ${endpoint.reason}`);
      });
    });
    return;
  }
  announceSkip(kind, endpoint.reason);
  describe.skip(name, () => {
    it(`needs a ${kind} broker: ${endpoint.reason}`, () => undefined);
  });
}

/** A name unique to this run, for queues, topics, streams and keys: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix = 'omnibus-test'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
