export { createTransport } from './transport.js';
export { nats } from './factory.js';
export type { NatsFactoryConfig } from './factory.js';
export { NatsOptionsSchema } from './options.js';
export type { NatsOptions, NatsOptionsInput } from './options.js';
export { natsCapabilities } from './capabilities.js';
