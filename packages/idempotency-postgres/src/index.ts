/**
 * @omnibus/idempotency-postgres — an IdempotencyStore on PostgreSQL (pg) for
 * `subscribe(..., { idempotency: { store } })`, with `commitIn()` to mark a key done inside the
 * handler's own transaction. See README.md.
 */
export { createPostgresIdempotencyStore, PostgresIdempotencyStore } from './store.js';
export { DuplicateEffectError } from './errors.js';
export { PostgresIdempotencyOptionsSchema, parsePostgresIdempotencyOptions } from './options.js';
export type { PostgresIdempotencyOptions, PostgresIdempotencyOptionsInput, Queryable } from './options.js';
