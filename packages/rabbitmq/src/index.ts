export { createTransport } from './transport.js';
export { rabbitmq } from './factory.js';
export type { RabbitMQFactoryConfig } from './factory.js';
export { RabbitMQOptionsSchema } from './options.js';
export type { RabbitMQOptions, RabbitMQOptionsInput } from './options.js';
export { rabbitmqCapabilities } from './capabilities.js';
export { delayBucket, MAX_DELAY_MS } from './delay.js';
