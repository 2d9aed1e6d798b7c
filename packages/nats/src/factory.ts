import { transportFactory, type TransportFactory } from '@omnibus/core';
import type { NatsOptionsInput } from './options.js';
import { createTransport } from './transport.js';

/** What `nats()` takes: the broker URL and the transport's options (see the README), typed. */
export type NatsFactoryConfig = { readonly url: string } & NatsOptionsInput;

/**
 * The NATS JetStream transport as a typed factory: `createBus({ transport: nats({ url: 'nats://localhost:4222', ... }) })`.
 * Importing it makes bundlers include this package (a URL alone loads it by name at run time).
 * Nothing is validated or connected here: createBus creates the transport (a ConfigError
 * naming a bad option), connects it and closes it with the bus.
 */
export function nats(config: NatsFactoryConfig): TransportFactory {
  return transportFactory('nats', config, createTransport);
}
