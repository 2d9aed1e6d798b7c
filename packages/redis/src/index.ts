/**
 * @omnibus/redis — the Redis Streams transport (ioredis).
 * `createBus('redis://localhost:6379')` loads it on demand; see README.md.
 */
export { createTransport, RedisTransport } from './transport.js';
export { redisCapabilities } from './capabilities.js';
export { RedisOptionsSchema, parseRedisOptions } from './options.js';
export type { RedisOptions, RedisOptionsInput, TrimOptions } from './options.js';
export { Keys } from './keys.js';
