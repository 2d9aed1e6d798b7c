import { transportFactory, type TransportFactory } from '@omnibus/core';
import type { KafkaOptionsInput } from './options.js';
// createTransport lives in the entry file (it picks the driver); the cycle is harmless, as it is only called by create().
import { createTransport } from './index.js';

/** What `kafka()` takes: the broker URL and the transport's options (see the README), typed. */
export type KafkaFactoryConfig = { readonly url: string } & KafkaOptionsInput;

/**
 * The Kafka transport as a typed factory: `createBus({ transport: kafka({ url: 'kafka://localhost:9092', ... }) })`.
 * Importing it makes bundlers include this package (a URL alone loads it by name at run time).
 * Nothing is validated or connected here: createBus creates the transport (a ConfigError
 * naming a bad option), connects it and closes it with the bus.
 */
export function kafka(config: KafkaFactoryConfig): TransportFactory {
  return transportFactory('kafka', config, createTransport);
}
