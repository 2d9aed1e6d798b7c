import { Bus } from './bus.js';
import { ConfigError, ErrorCodes } from './errors.js';
import type { Logger } from './logger.js';
import { createMemoryTransport } from './memory/memory-transport.js';
import { busConfigSchema, type BusConfigInput } from './options/bus-config.js';
import type { OutputOf } from './options/rules.js';
import { Redactor, redactUrl } from './redact.js';
import { redactingLogger } from './redacting-logger.js';
import { redactingTransport } from './redacting-transport.js';
import { secretsOf } from './secrets.js';
import type { Transport, TransportInit, TransportModule } from './transport.js';
import { isTransportFactory, type TransportFactory } from './transport-factory.js';
import { parseOptions } from './validate.js';

/** Transport names and the package that implements each (loaded on demand). */
export const TransportPackages = {
  memory: '@omnibus/core',
  rabbitmq: '@omnibus/rabbitmq',
  kafka: '@omnibus/kafka',
  redis: '@omnibus/redis',
  nats: '@omnibus/nats',
  amqp10: '@omnibus/amqp10',
  sqs: '@omnibus/sqs',
} as const;

export type TransportName = keyof typeof TransportPackages;

const SCHEMES: Record<string, TransportName> = {
  'memory:': 'memory',
  'amqp:': 'rabbitmq',
  'amqps:': 'rabbitmq',
  'kafka:': 'kafka',
  'kafkas:': 'kafka',
  'redis:': 'redis',
  'rediss:': 'redis',
  'nats:': 'nats',
  'tls:': 'nats',
  'amqp10:': 'amqp10',
  'amqp10s:': 'amqp10',
  'sqs:': 'sqs',
};

const isTransport = (value: unknown): value is Transport =>
  typeof value === 'object' && value !== null && typeof (value as Transport).publish === 'function' && typeof (value as Transport).subscribe === 'function';

const BusConfigSchema = busConfigSchema(Object.keys(TransportPackages) as [TransportName, ...TransportName[]]);

/**
 * The createBus config. A transport factory carries its URL and options itself: `url` or
 * `options` beside one is a ConfigError naming the field.
 */
export type BusConfig = BusConfigInput<TransportName>;

/**
 * Create a bus from a URL (`memory://`, `amqp://…`, `kafka://…`, `redis://…`,
 * `nats://…`), a transport factory (`redis({ url, claimIdleMs })`) or a config object.
 * For a URL the transport package is imported on demand, so swapping brokers is a config
 * change; a factory's package is imported by the application itself, which bundlers see.
 * Connects before resolving.
 *
 * Credentials never come out: the secrets of the config (the URL's password or token, in every
 * form it may be printed in, and secret-named options) are scrubbed from every error createBus
 * rejects with, from every error of the transport it creates (see redactingTransport) and from
 * every line the transport and the bus log.
 */
export async function createBus(config: string | TransportFactory | BusConfig = 'memory://'): Promise<Bus> {
  const input: unknown = typeof config === 'string' ? { url: config } : isTransportFactory(config) ? { transport: config } : config;
  const factory = factoryOf(input);
  const redactor = new Redactor([...secretsOf(input), ...(factory?.secrets ?? [])]);
  try {
    const parsed = parseOptions(BusConfigSchema, input, 'config');
    if (isTransportFactory(parsed.transport)) assertFactoryAlone(parsed);
    const logger = redactingLogger(parsed.logger, redactor);
    const transport = await resolveTransport(parsed, logger, redactor);
    if (transport === parsed.transport) await transport.connect();
    else await connectOrClose(transport);
    return new Bus({
      transport,
      codec: parsed.codec,
      logger,
      source: parsed.source,
      middleware: parsed.middleware,
      drainTimeoutMs: parsed.drainTimeoutMs,
    });
  } catch (error) {
    throw redactor.error(error);
  }
}

/** Connect a transport createBus created; one that cannot connect is closed again, so no reconnect loop or socket outlives the rejection. */
async function connectOrClose(transport: Transport): Promise<void> {
  try {
    await transport.connect();
  } catch (error) {
    await transport.close().catch(() => {});
    throw error;
  }
}

type ParsedConfig = OutputOf<typeof BusConfigSchema>;

/** The factory of a config, read before validation so that its secrets are scrubbed from validation errors too. Never throws. */
function factoryOf(input: unknown): TransportFactory | undefined {
  try {
    const transport = typeof input === 'object' && input !== null ? (input as { transport?: unknown }).transport : undefined;
    return isTransportFactory(transport) ? transport : undefined;
  } catch {
    return undefined;
  }
}

/** A factory holds the URL and the options: the same given beside it would be ignored or contradict it. */
function assertFactoryAlone(config: ParsedConfig): void {
  const name = isTransportFactory(config.transport) ? config.transport.name : 'the transport';
  if (config.url !== undefined) throw new ConfigError('config.url', `give the URL to the transport factory (${name}({ url })), not beside it`);
  if (config.options !== undefined) throw new ConfigError('config.options', `give the options to the transport factory (${name}({ url, ...options })), not beside it`);
}

/**
 * The transport: a given instance as it is (the caller owns it), else one created from a factory
 * or from the URL, wrapped to scrub its errors (the bus owns those).
 */
async function resolveTransport(config: ParsedConfig, logger: Logger, redactor: Redactor): Promise<Transport> {
  if (isTransportFactory(config.transport)) return redactingTransport(config.transport.create({ logger }), redactor);
  if (isTransport(config.transport)) return config.transport;
  const name = config.transport ?? (config.url ? nameFromUrl(config.url) : undefined);
  if (!name) throw new ConfigError('config.url', 'give a broker URL (e.g. "memory://", "amqp://host"), a transport factory or a transport name');
  const url = config.url ?? `${name}://`;
  const init: TransportInit = { url, options: config.options ?? {}, logger };
  if (name === 'memory') return redactingTransport(createMemoryTransport(init), redactor);
  const module = await loadTransportModule(name);
  return redactingTransport(module.createTransport(init), redactor);
}

function nameFromUrl(url: string): TransportName {
  const match = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url);
  const scheme = match?.[1]?.toLowerCase();
  const name = scheme ? SCHEMES[scheme] : undefined;
  if (!name) {
    const known = Object.keys(SCHEMES).map((s) => `${s}//`).join(', ');
    throw new ConfigError('config.url', `cannot choose a transport for "${redactUrl(url)}": the scheme must be one of ${known}`);
  }
  return name;
}

/** Import a transport package; a missing one becomes a ConfigError that says what to install. */
export async function loadTransportModule(
  name: Exclude<TransportName, 'memory'>,
  importModule: (specifier: string) => Promise<unknown> = (specifier) => import(specifier),
): Promise<TransportModule> {
  const pkg = TransportPackages[name];
  let module: Partial<TransportModule>;
  try {
    module = (await importModule(pkg)) as Partial<TransportModule>;
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || /cannot find (package|module)|failed to (load|resolve)/i.test(String(cause));
    if (missing && String(cause).includes(pkg)) {
      throw new ConfigError('config.url', `the ${name} transport is not installed: run \`npm install ${pkg}\``, { cause, code: ErrorCodes.transportNotInstalled });
    }
    throw cause;
  }
  if (typeof module.createTransport !== 'function') {
    throw new ConfigError('config.transport', `${pkg} does not export createTransport(init)`);
  }
  return module as TransportModule;
}
