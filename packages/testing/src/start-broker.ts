// startBroker: an environment override, else one already running, else a container, else a local
// process; the first that answers wins, and every failure says why.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startContainer } from './container.js';
import { BROKER_DEFAULTS, BROKER_IMAGES, BROKER_SOURCES, brokerUrl, formatAddress, parseAddresses, type BrokerKind, type BrokerSource, type ParsedAddress } from './kinds.js';
import { startLocal } from './local.js';
import { probeBroker, type ProbeResult } from './probes.js';

export interface StartBrokerOptions {
  /**
   * The sources to try, in this order. Default `['env', 'running', 'container', 'local']`. Leave one
   * out to never use it, e.g. `['container', 'local']` for a broker of the test's own.
   */
  readonly sources?: readonly BrokerSource[] | undefined;
  /** Where the override variables (and PATH, DOCKER_HOST...) are read. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Where the `'running'` source looks, `host:port`. Default `127.0.0.1:<the kind's default port>`. */
  readonly address?: string | undefined;
  /** How long a container or a local process may take to become ready. Default 60 000 ms (Kafka, RabbitMQ, Artemis: 120 000). */
  readonly timeoutMs?: number | undefined;
  /** How long one readiness probe waits for an answer. Default 2 000 ms. */
  readonly probeTimeoutMs?: number | undefined;
  /** The container image instead of the one in `BROKER_IMAGES`. */
  readonly image?: string | undefined;
  /**
   * Where a local Kafka's jars are cached (`<cacheDir>/kafka-<version>/libs`). Default
   * `$OMNIBUS_TESTING_CACHE_DIR`, else `node_modules/.cache/omnibus-testing` in the current directory
   * when it has a node_modules, else `<os tmpdir>/omnibus-testing`.
   */
  readonly cacheDir?: string | undefined;
  /** Progress of slow steps (a jar download, a container start). Default: silent. */
  readonly log?: ((line: string) => void) | undefined;
}

/** One source tried: whether it gave a broker, and what happened. */
export interface BrokerAttempt {
  readonly source: BrokerSource;
  readonly ok: boolean;
  readonly detail: string;
}

/** A broker for tests. `close()` (or `await using`) stops it if `startBroker` started it, and does nothing otherwise. */
export interface Broker extends AsyncDisposable {
  readonly kind: BrokerKind;
  /** The URL to give Omnibus: amqp://, kafka://host:port[,host:port], redis://, nats://, postgres://, amqp10://, sqs://. */
  readonly url: string;
  /** Host and port of the first address. */
  readonly host: string;
  readonly port: number;
  /** Every address as `host:port` (Kafka: the bootstrap brokers, for kafkajs' `brokers`). */
  readonly addresses: readonly string[];
  readonly source: BrokerSource;
  /** The sources tried, in order, the last one being the one that gave this broker. */
  readonly attempts: readonly BrokerAttempt[];
  /** True when `close()` stops a container or process that `startBroker` started. */
  readonly owned: boolean;
  close(): Promise<void>;
}

/** No source gave a broker. `attempts` lists each one tried and why it failed; the message also says how to fix it. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
  constructor(
    readonly kind: BrokerKind,
    readonly attempts: readonly BrokerAttempt[],
    message: string,
  ) {
    super(message);
  }
}

const SLOW_KINDS: readonly BrokerKind[] = ['kafka', 'rabbitmq', 'amqp10'];

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

function defaultCacheDir(env: Readonly<Record<string, string | undefined>>): string {
  const configured = env.OMNIBUS_TESTING_CACHE_DIR?.trim();
  if (configured) return configured;
  const modules = join(process.cwd(), 'node_modules');
  return existsSync(modules) ? join(modules, '.cache', 'omnibus-testing') : join(tmpdir(), 'omnibus-testing');
}

const LOCAL_HINT: Readonly<Record<BrokerKind, string>> = {
  rabbitmq: 'install rabbitmq-server (apt-get install rabbitmq-server, brew install rabbitmq)',
  kafka: 'install java (17+) and mvn (the Kafka jars come from Maven Central, once)',
  redis: 'install redis-server (apt-get install redis-server, brew install redis)',
  nats: 'install nats-server (https://github.com/nats-io/nats-server/releases)',
  postgres: 'install the PostgreSQL server (initdb and postgres; as root they run as the postgres or nobody user)',
  amqp10: '',
  sqs: '',
};

function howToFix(kind: BrokerKind, sources: readonly BrokerSource[], address: string): string {
  const { envVar, title } = BROKER_DEFAULTS[kind];
  const { image, port } = BROKER_IMAGES[kind];
  const ways: string[] = [];
  if (sources.includes('env')) ways.push(`set ${envVar} to the address of a ${title} you run`);
  if (sources.includes('running')) ways.push(`start one at ${address} (e.g. docker run -d -p ${address.split(':').pop() ?? port}:${port} ${image})`);
  if (sources.includes('container')) ways.push('install testcontainers (npm install --save-dev testcontainers@11) where a Docker engine runs');
  if (sources.includes('local') && LOCAL_HINT[kind]) ways.push(LOCAL_HINT[kind]);
  return ways.length ? `To fix it, do one of: ${ways.map((way, i) => `(${i + 1}) ${way}`).join('; ')}.` : 'No source was allowed (options.sources is empty).';
}

class StartedBroker implements Broker {
  private closing: Promise<void> | undefined;

  constructor(
    readonly kind: BrokerKind,
    readonly url: string,
    readonly addresses: readonly string[],
    readonly source: BrokerSource,
    readonly attempts: readonly BrokerAttempt[],
    private readonly stop: (() => Promise<void>) | undefined,
    private readonly first: ParsedAddress,
  ) {}

  get host(): string {
    return this.first.host;
  }

  get port(): number {
    return this.first.port;
  }

  get owned(): boolean {
    return this.stop !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= this.stop ? this.stop() : Promise.resolve();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function probeAny(kind: BrokerKind, addresses: readonly ParsedAddress[], url: string, timeoutMs: number): Promise<ProbeResult & { at?: ParsedAddress }> {
  const failures: string[] = [];
  for (const address of addresses) {
    const result = await probeBroker(kind, address, url, timeoutMs);
    if (result.ok) return { ...result, at: address };
    failures.push(result.reason);
  }
  return { ok: false, reason: failures.join('; ') || 'no address' };
}

/**
 * A `kind` broker for tests. Tries, in order (see `options.sources`): the override in the environment
 * (`OMNIBUS_TEST_<KIND>_URL`, Kafka `OMNIBUS_TEST_KAFKA_BROKERS`); one already running at the default
 * address; a container with testcontainers where a Docker engine answers; a local server process.
 * Every candidate is checked with a protocol-level probe. An override that does not answer fails at
 * once (it names what you asked for). Rejects with a `BrokerUnavailableError` listing what was tried,
 * why each failed and how to fix it.
 *
 * ```ts
 * await using broker = await startBroker('kafka');
 * const bus = await createBus({ url: broker.url });
 * ```
 */
export async function startBroker(kind: BrokerKind, options: StartBrokerOptions = {}): Promise<Broker> {
  if (!Object.hasOwn(BROKER_DEFAULTS, kind)) throw new TypeError(`unknown broker kind ${JSON.stringify(kind)} (one of ${Object.keys(BROKER_DEFAULTS).join(', ')})`);
  const env = options.env ?? process.env;
  const sources = options.sources ?? BROKER_SOURCES;
  for (const source of sources) {
    if (!BROKER_SOURCES.includes(source)) throw new TypeError(`unknown broker source ${JSON.stringify(source)} (one of ${BROKER_SOURCES.join(', ')})`);
  }
  const { envVar, port: defaultPort, title } = BROKER_DEFAULTS[kind];
  const timeoutMs = options.timeoutMs ?? (SLOW_KINDS.includes(kind) ? 120_000 : 60_000);
  const probeTimeoutMs = options.probeTimeoutMs ?? 2_000;
  const log = options.log ?? (() => undefined);
  const runningAddress = parseAddresses(options.address ?? `127.0.0.1:${defaultPort}`, defaultPort)[0];
  if (!runningAddress) throw new TypeError(`options.address ${JSON.stringify(options.address)} names no host:port`);
  const attempts: BrokerAttempt[] = [];
  const fail = (source: BrokerSource, detail: string) => attempts.push({ source, ok: false, detail });
  const found = (source: BrokerSource, addresses: readonly ParsedAddress[], url: string, detail: string, stop?: () => Promise<void>): Broker => {
    attempts.push({ source, ok: true, detail });
    return new StartedBroker(kind, url, addresses.map(formatAddress), source, [...attempts], stop, addresses[0] as ParsedAddress);
  };

  for (const source of sources) {
    switch (source) {
      case 'env': {
        const value = env[envVar]?.trim();
        if (!value) {
          fail('env', `${envVar} is not set`);
          break;
        }
        let addresses: ParsedAddress[];
        try {
          addresses = parseAddresses(value, defaultPort);
        } catch (error) {
          addresses = [];
          fail('env', `${envVar}=${redact(value)} is not an address: ${(error as Error).message}`);
        }
        const url = kind === 'kafka' ? `kafka://${addresses.map(formatAddress).join(',')}` : value;
        const result = addresses.length ? await probeAny(kind, addresses, url, probeTimeoutMs) : undefined;
        if (result?.ok) return found('env', addresses, url, `${envVar}=${redact(value)}: ${result.detail}`);
        if (result) fail('env', `${envVar}=${redact(value)} does not answer as a ready ${title}: ${result.reason}`);
        // The override names what the user asked for: starting something else would hide the mistake.
        throw new BrokerUnavailableError(
          kind,
          attempts,
          `no ${title} for the tests: ${attempts.at(-1)?.detail ?? ''}. startBroker looks no further when ${envVar} is set: fix the address, or unset ${envVar} to let it find or start a broker.`,
        );
      }
      case 'running': {
        const url = brokerUrl(kind, runningAddress.host, runningAddress.port);
        const result = await probeBroker(kind, runningAddress, url, probeTimeoutMs);
        if (result.ok) return found('running', [runningAddress], url, `${formatAddress(runningAddress)}: ${result.detail}`);
        fail('running', `nothing ready at ${formatAddress(runningAddress)}: ${result.reason}`);
        break;
      }
      case 'container': {
        try {
          const started = await startContainer(kind, { timeoutMs, probeTimeoutMs, image: options.image, log });
          const address = { host: started.host, port: started.port };
          return found('container', [address], brokerUrl(kind, started.host, started.port), started.detail, started.stop);
        } catch (error) {
          fail('container', (error as Error).message);
        }
        break;
      }
      case 'local': {
        try {
          const started = await startLocal(kind, { env, timeoutMs, probeTimeoutMs, cacheDir: options.cacheDir ?? defaultCacheDir(env), log });
          const address = { host: started.host, port: started.port };
          return found('local', [address], brokerUrl(kind, started.host, started.port), started.detail, started.stop);
        } catch (error) {
          fail('local', (error as Error).message);
        }
        break;
      }
    }
  }
  const listing = attempts.map((attempt) => `  - ${attempt.source}: ${attempt.detail.replace(/\n/g, '\n      ')}`).join('\n');
  throw new BrokerUnavailableError(
    kind,
    attempts,
    `no ${title} for the tests. Tried:\n${listing || '  (nothing: options.sources is empty)'}\n${howToFix(kind, sources, formatAddress(runningAddress))}`,
  );
}
