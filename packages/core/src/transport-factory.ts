/**
 * A transport factory: what a transport package's typed function returns (`redis({ url, claimIdleMs })`,
 * `memory()`), for `createBus({ transport })`. Two reasons to prefer it to a URL:
 *
 * - Bundlers and serverless builds see the package: the application imports it statically,
 *   whereas a URL makes createBus import the package by name at run time, which a bundler cannot
 *   follow (the bundled app then fails with TRANSPORT_NOT_INSTALLED).
 * - The options are typed: a misspelled option is a TypeScript error, and at run time (plain
 *   JavaScript) a ConfigError naming the key, as with URL configuration.
 *
 * A factory is a recipe, not a transport: making one neither validates nor connects anything.
 * createBus calls `create` (options are validated there, inside its redaction), connects the
 * transport, owns it (bus.close closes it) and scrubs `secrets` from every error and log line.
 */
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { secretsOf } from './secrets.js';
import type { Transport, TransportInit } from './transport.js';

/**
 * The tag of a factory. A string rather than a class or a private symbol, so that a factory made
 * by a transport package built against another copy of core is still recognised.
 */
export const TRANSPORT_FACTORY_KIND = 'omnibus.transport-factory';

/** What createBus gives a factory's `create`. */
export interface TransportFactoryInit {
  /** The bus's logger, already redacting the factory's secrets. */
  readonly logger: Logger;
}

export interface TransportFactory {
  readonly kind: typeof TRANSPORT_FACTORY_KIND;
  /** The transport's name (`'redis'`), for messages. */
  readonly name: string;
  /** Every secret of the factory's configuration (URL password or token, secret-named options), for createBus's redactor. */
  readonly secrets: readonly string[];
  /**
   * A new transport, not connected. Throws a ConfigError naming the field for bad options.
   * Each call makes a new transport; whoever calls it owns the result.
   */
  create(init: TransportFactoryInit): Transport;
}

/** Whether `value` is a TransportFactory. Never throws, whatever `value` is. */
export function isTransportFactory(value: unknown): value is TransportFactory {
  if (typeof value !== 'object' || value === null) return false;
  try {
    const candidate = value as Partial<TransportFactory>;
    return candidate.kind === TRANSPORT_FACTORY_KIND && typeof candidate.name === 'string' && Array.isArray(candidate.secrets) && typeof candidate.create === 'function';
  } catch {
    return false;
  }
}

/**
 * For transport packages: the factory of `createTransport` for a `{ url, ...options }` config.
 * The URL is split from the options here, so each package's factory is one line and every
 * factory finds its secrets the way createBus finds a URL config's. `defaultUrl` is for
 * transports whose URL is optional (`memory://`).
 */
export function transportFactory(
  name: string,
  config: object | undefined,
  createTransport: (init: TransportInit) => Transport,
  defaultUrl?: string,
): TransportFactory {
  if (config !== undefined && (typeof config !== 'object' || config === null || Array.isArray(config))) {
    throw new ConfigError(name, `expected { url, ...options }, got ${config === null ? 'null' : Array.isArray(config) ? 'an array' : typeof config}`);
  }
  const { url = defaultUrl, ...options } = (config ?? {}) as { url?: unknown };
  if (typeof url !== 'string' || url.length === 0) throw new ConfigError(`${name}.url`, 'give the broker URL (a non-empty string)');
  const factory: TransportFactory = {
    kind: TRANSPORT_FACTORY_KIND,
    name,
    secrets: Object.freeze(secretsOf({ url, options })),
    create: ({ logger }) => createTransport({ url, options, logger }),
  };
  return Object.freeze(factory);
}
