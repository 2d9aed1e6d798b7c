import { z } from 'zod';
import { parseOptions } from '@omnibus/core';
import { RESERVED_IN_PREFIX } from './keys.js';

const ms = (min: number) => z.number().int().min(min);

/** TLS settings handed to Node's `tls.connect` (a `rediss://` URL turns TLS on with defaults). */
const TlsSchema = z
  .object({
    rejectUnauthorized: z.boolean().optional(),
    /** PEM strings. */
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    servername: z.string().optional(),
  })
  .strict();

/**
 * Trimming of topic streams. An entry is only ever removed once every group of the
 * topic has read and acknowledged it; on top of that, `maxLen` / `maxAgeMs` keep some
 * acknowledged history (an entry goes once it is outside either limit). Neither given:
 * entries go as soon as every group acknowledged them.
 */
const TrimSchema = z
  .object({
    /** `trim: false` turns trimming off. */
    enabled: z.boolean().default(true),
    /** Keep about this many newest entries (approximate, applied as MINID). */
    maxLen: z.number().int().min(0).optional(),
    /** Keep entries younger than this (MINID from the Redis clock). */
    maxAgeMs: ms(0).optional(),
    /** How often each topic this transport published to or consumed is trimmed. */
    intervalMs: ms(10).default(60_000),
  })
  .strict();

export type TrimOptions = z.output<typeof TrimSchema>;

/**
 * Options of the Redis transport (`createBus({ url: 'redis://…', options })`).
 * Every field is documented in the package README.
 */
export const RedisOptionsSchema = z
  .object({
    /**
     * Prefix of every key this transport reads or writes. It may not contain `topic:` or `retry:`,
     * so that buses with different prefixes never share a key (see keys.ts).
     */
    prefix: z
      .string()
      .min(1)
      .refine((prefix) => !RESERVED_IN_PREFIX.some((part) => prefix.includes(part)), {
        message: `may not contain ${RESERVED_IN_PREFIX.map((part) => `"${part}"`).join(' or ')}: the keys of such a prefix could be those of a shorter one`,
      })
      .default('omnibus:'),
    /** ACL user and password; override the ones in the URL. */
    username: z.string().optional(),
    password: z.string().optional(),
    /** Logical database; overrides the URL path. */
    db: z.number().int().min(0).optional(),
    /** `true` or TLS settings: connect with TLS (implied by `rediss://`). */
    tls: z.union([z.boolean(), TlsSchema]).optional(),
    /** First part of consumer names (default: the host name). */
    consumerName: z.string().min(1).max(100).optional(),
    /** How long one XREADGROUP blocks waiting for entries. */
    blockMs: ms(1).default(2_000),
    /** A pending entry idle this long belongs to a dead consumer and is claimed (XAUTOCLAIM). */
    claimIdleMs: ms(50).default(30_000),
    /** How often a subscription looks for such entries (default: claimIdleMs / 2). */
    claimIntervalMs: ms(10).optional(),
    /** Consumers with nothing pending and idle this long are removed from their group. */
    consumerExpiryMs: ms(1_000).default(3_600_000),
    /** Longest wait between two looks at the scheduled (delayed) entries. */
    schedulerIntervalMs: ms(10).default(1_000),
    connectTimeoutMs: ms(1).default(10_000),
    /** A command (publish, ack, ...) without a reply after this long fails; it waits for a reconnect meanwhile. */
    commandTimeoutMs: ms(1).default(15_000),
    /**
     * Reconnect backoff (exponential with jitter), named as on RabbitMQ: `initialDelayMs` up to
     * `maxDelayMs`. `minDelayMs` is its former name, still accepted (not both).
     */
    reconnect: z
      .object({ initialDelayMs: ms(1).optional(), minDelayMs: ms(1).optional(), maxDelayMs: ms(1).default(5_000) })
      .strict()
      .refine((r) => r.initialDelayMs === undefined || r.minDelayMs === undefined, { message: 'give initialDelayMs (minDelayMs is its former name), not both', path: ['minDelayMs'] })
      .transform(({ initialDelayMs, minDelayMs, maxDelayMs }) => ({ initialDelayMs: initialDelayMs ?? minDelayMs ?? 100, maxDelayMs }))
      .default({ initialDelayMs: 100, maxDelayMs: 5_000 }),
    /**
     * Trim topic streams (never an entry some group still needs); `false`: never trim.
     * (`false` is mapped to `{ enabled: false }` first, so errors name the exact trim field.)
     */
    trim: z.preprocess((value) => (value === false ? { enabled: false } : (value ?? {})), TrimSchema),
  })
  .strict();

export type RedisOptionsInput = Omit<z.input<typeof RedisOptionsSchema>, 'trim'> & { trim?: false | z.input<typeof TrimSchema> };
export type RedisOptions = z.output<typeof RedisOptionsSchema>;

export function parseRedisOptions(input: unknown): RedisOptions {
  return parseOptions(RedisOptionsSchema, input ?? {}, 'options');
}
