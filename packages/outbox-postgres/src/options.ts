import { BackoffSchema, jsonCodec, parseOptions, type Backoff, type BackoffInput, type Bus, type Codec, type Logger } from '@omnibus/core';
import type { Pool } from 'pg';
import { z } from 'zod';
import { IdentifierSchema } from './identifiers.js';
import type { Outbox } from './outbox.js';
import type { PublishedRow } from './rows.js';

const object = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export const OutboxOptionsSchema = z.strictObject({
  // Its indexes are named `<table>_<suffix>` and its channel is the table's name: both must fit 63 bytes.
  table: IdentifierSchema.max(50, 'at most 50 characters (index names add a suffix)').default('omnibus_outbox'),
  schema: IdentifierSchema.optional(),
  /** The codec for topics without their own: must be the relay's bus codec (JSON by default). */
  codec: z.custom<Codec>((v) => object(v) && typeof v.encode === 'function' && typeof v.contentType === 'string', 'expected a Codec').default(jsonCodec),
});

export type OutboxOptionsInput = z.input<typeof OutboxOptionsSchema>;
export type OutboxOptions = z.output<typeof OutboxOptionsSchema>;

export function parseOutboxOptions(input: unknown): OutboxOptions {
  return parseOptions(OutboxOptionsSchema, input, 'options');
}

/** Core checks a backoff without zod: its issues are reported here at their paths under `retry`. */
const RetryBackoffSchema = z
  .custom<BackoffInput>(() => true)
  .optional()
  .transform((value, ctx): Backoff => {
    const result = BackoffSchema['~standard'].validate(value ?? { type: 'exponential', initialDelayMs: 200, maxDelayMs: 30_000, factor: 2, jitter: true });
    if (result instanceof Promise) throw new TypeError('the backoff rule is synchronous');
    if (!result.issues) return result.value;
    for (const issue of result.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: (issue.path ?? []).map((key) => (typeof key === 'object' ? key.key : key)) });
    return z.NEVER;
  });

export const RelayOptionsSchema = z.strictObject({
  /** Connections for claiming batches; the relay also holds one for LISTEN while it runs. */
  pool: z.custom<Pool>((v) => object(v) && typeof v.connect === 'function' && typeof v.query === 'function', 'must be a pg Pool'),
  bus: z.custom<Bus>((v) => object(v) && typeof v.publishBatch === 'function', 'must be an Omnibus Bus'),
  outbox: z.custom<Outbox>((v) => object(v) && typeof v.sql === 'object', 'must be an outbox from createOutbox()'),
  /** Rows claimed per transaction. */
  batchSize: z.number().int().min(1).max(10_000).default(100),
  /** How often the relay looks for rows when no notification came (and after a missed one). */
  pollIntervalMs: z.number().int().min(10).max(3_600_000).default(1_000),
  /** LISTEN for the outbox's NOTIFY (false: poll only). */
  listen: z.boolean().default(true),
  /** A publish that has not resolved by then counts as failed (its row is kept and retried). */
  publishTimeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  /** Delay before a failed row is tried again, by its attempts so far. */
  retry: RetryBackoffSchema,
  /** Failed publishes and database errors are logged here (messages scrubbed of credentials). */
  logger: z.custom<Logger>((v) => object(v) && typeof v.warn === 'function' && typeof v.error === 'function', 'expected a logger with debug/info/warn/error').optional(),
  /**
   * Called after rows were durably accepted by the broker and before they are deleted (awaited):
   * for metrics and progress. A row whose relay dies here is sent again, with the same id.
   */
  onPublished: z.custom<(rows: readonly PublishedRow[]) => void | Promise<void>>((v) => typeof v === 'function', 'must be a function').optional(),
});

export type RelayOptionsInput = z.input<typeof RelayOptionsSchema>;
export type RelayOptions = z.output<typeof RelayOptionsSchema>;

export function parseRelayOptions(input: unknown): RelayOptions {
  return parseOptions(RelayOptionsSchema, input, 'relay options');
}
