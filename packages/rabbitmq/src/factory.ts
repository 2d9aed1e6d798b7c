import { transportFactory, type TransportFactory } from '@omnibus/core';
import type { RabbitMQOptionsInput } from './options.js';
import { createTransport } from './transport.js';

/** What `rabbitmq()` takes: the broker URL and the transport's options (see the README), typed. */
export type RabbitMQFactoryConfig = { readonly url: string } & RabbitMQOptionsInput;

/**
 * The RabbitMQ transport as a typed factory: `createBus({ transport: rabbitmq({ url: 'amqp://guest:guest@localhost:5672', ... }) })`.
 * Importing it makes bundlers include this package (a URL alone loads it by name at run time).
 * Nothing is validated or connected here: createBus creates the transport (a ConfigError
 * naming a bad option), connects it and closes it with the bus.
 */
export function rabbitmq(config: RabbitMQFactoryConfig): TransportFactory {
  return transportFactory('rabbitmq', config, createTransport);
}
