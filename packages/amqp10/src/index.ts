/**
 * @omnibus/amqp10 — AMQP 1.0 (rhea) on ActiveMQ Artemis.
 * `createBus('amqp10://user:pass@localhost:5673')` loads it on demand; see README.md.
 */
export { createTransport, Amqp10Transport } from './transport.js';
export { amqp10Capabilities } from './capabilities.js';
export { Amqp10OptionsSchema } from './options.js';
export type { Amqp10Options, Amqp10OptionsInput } from './options.js';
export { parseAmqp10Url } from './url.js';
export type { ParsedAmqp10Url } from './url.js';
export { Names } from './names.js';
