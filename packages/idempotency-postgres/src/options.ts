import { parseOptions } from '@omnibus/core';
import type { Pool } from 'pg';
import { z } from 'zod';
import { IdentifierSchema } from './identifiers.js';

/** What the store needs of a pg `Pool`: its `query` (each call on whichever connection is free). */
export type Queryable = Pick<Pool, 'query'>;

export const PostgresIdempotencyOptionsSchema = z.strictObject({
  pool: z.custom<Queryable>((v) => typeof v === 'object' && v !== null && typeof (v as Queryable).query === 'function', { message: 'must be a pg Pool' }),
  // Its index is named `<table>_expires_at`, which must fit in 63 bytes too.
  table: IdentifierSchema.max(52, 'at most 52 characters (the index name adds "_expires_at")').default('omnibus_idempotency'),
  schema: IdentifierSchema.optional(),
});

export type PostgresIdempotencyOptionsInput = z.input<typeof PostgresIdempotencyOptionsSchema>;
export type PostgresIdempotencyOptions = z.output<typeof PostgresIdempotencyOptionsSchema>;

export function parsePostgresIdempotencyOptions(input: unknown): PostgresIdempotencyOptions {
  return parseOptions(PostgresIdempotencyOptionsSchema, input, 'options');
}
