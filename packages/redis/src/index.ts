/**
 * @omnibus/redis — the Redis Streams transport (ioredis).
 * `createBus('redis://localhost:6379')` loads it on demand; see README.md.
 */
export { createTransport, RedisTransport } from './transport.js';
export { redis } from './factory.js';
export type { RedisFactoryConfig } from './factory.js';
export { redisCapabilities } from './capabilities.js';
export { RedisOptionsSchema, parseRedisOptions } from './options.js';
export type { RedisOptions, RedisOptionsInput, TrimOptions } from './options.js';
export { Keys } from './keys.js';
