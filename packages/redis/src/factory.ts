import { transportFactory, type TransportFactory } from '@omnibus/core';
import type { RedisOptionsInput } from './options.js';
import { createTransport } from './transport.js';

/** What `redis()` takes: the broker URL and the transport's options (see the README), typed. */
export type RedisFactoryConfig = { readonly url: string } & RedisOptionsInput;

/**
 * The Redis Streams transport as a typed factory: `createBus({ transport: redis({ url: 'redis://localhost:6379', ... }) })`.
 * Importing it makes bundlers include this package (a URL alone loads it by name at run time).
 * Nothing is validated or connected here: createBus creates the transport (a ConfigError
 * naming a bad option), connects it and closes it with the bus.
 */
export function redis(config: RedisFactoryConfig): TransportFactory {
  return transportFactory('redis', config, createTransport);
}
