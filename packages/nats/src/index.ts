export { createTransport } from './transport.js';
export { NatsOptionsSchema } from './options.js';
export type { NatsOptions, NatsOptionsInput } from './options.js';
export { natsCapabilities } from './capabilities.js';
