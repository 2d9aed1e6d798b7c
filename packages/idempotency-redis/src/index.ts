/**
 * @omnibus/idempotency-redis — an IdempotencyStore on Redis (ioredis), for
 * `subscribe(topic, handler, { idempotency })` across processes and restarts. See README.md.
 */
export { createRedisIdempotencyStore, RedisIdempotencyStore } from './store.js';
export { RedisIdempotencyOptionsSchema, parseRedisIdempotencyOptions, DEFAULT_KEY_PREFIX } from './options.js';
export type { RedisIdempotencyOptions, RedisIdempotencyOptionsInput } from './options.js';
