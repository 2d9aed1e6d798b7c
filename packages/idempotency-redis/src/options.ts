import { Redis } from 'ioredis';
import { z } from 'zod';
import { parseOptions } from '@omnibus/core';

/** Where keys go by default: `<keyPrefix><idempotency key>`. */
export const DEFAULT_KEY_PREFIX = 'omnibus:idempotency:';

/**
 * Options of `createRedisIdempotencyStore`. Exactly one of `url` (the store creates, and closes,
 * its own client) and `client` (an ioredis client of the application's, left open on close).
 */
export const RedisIdempotencyOptionsSchema = z
  .strictObject({
    /** `redis://[user[:password]@]host[:port][/db]` or `rediss://` (TLS). */
    url: z.string().min(1).optional(),
    /** An existing ioredis client (standalone). */
    client: z.instanceof(Redis, { message: 'must be an ioredis Redis client' }).optional(),
    /** Prefix of every key the store writes. */
    keyPrefix: z.string().min(1).default(DEFAULT_KEY_PREFIX),
    /** Only with `url`: an operation without a reply after this long fails (it waits for a reconnect meanwhile). */
    commandTimeoutMs: z.number().int().min(1).optional(),
    /** Only with `url`: connecting gives up after this long. */
    connectTimeoutMs: z.number().int().min(1).optional(),
  })
  .superRefine((options, ctx) => {
    if ((options.url === undefined) === (options.client === undefined)) {
      ctx.addIssue({ code: 'custom', path: options.url === undefined ? ['url'] : ['client'], message: 'give url or client, exactly one' });
    }
    if (options.client !== undefined) {
      for (const field of ['commandTimeoutMs', 'connectTimeoutMs'] as const) {
        if (options[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'applies only to a client the store creates (with url): configure your client instead' });
      }
    }
  });

export type RedisIdempotencyOptionsInput = z.input<typeof RedisIdempotencyOptionsSchema>;
export type RedisIdempotencyOptions = z.output<typeof RedisIdempotencyOptionsSchema>;

/** Validated options: a ConfigError naming the field (`options.keyPrefix`) otherwise, the URL's password never in it. */
export function parseRedisIdempotencyOptions(input: unknown): RedisIdempotencyOptions {
  return parseOptions(RedisIdempotencyOptionsSchema, input ?? {}, 'options');
}
