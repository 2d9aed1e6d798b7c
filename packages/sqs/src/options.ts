import { z } from 'zod';
import { parseOptions } from '@omnibus/core';

const ms = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

/** Static credentials; without them the SDK's default chain (environment, profile, IMDS, ...) is used. */
const CredentialsSchema = z
  .object({
    accessKeyId: z.string().min(1),
    secretAccessKey: z.string().min(1),
    sessionToken: z.string().min(1).optional(),
  })
  .strict();

/**
 * Options of the SQS transport (`createBus({ url: 'sqs://…', options })`).
 * Every field is documented in the package README.
 */
export const SqsOptionsSchema = z
  .object({
    /**
     * First part of every queue name this transport creates or reads. SQS names allow letters,
     * digits, `-` and `_` (80 characters in all), so the prefix is kept short.
     */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,24}$/, { message: 'must be 1 to 24 letters, digits, "-" or "_" (what an SQS queue name may hold)' })
      .default('omnibus-'),
    /** AWS region; overrides the URL's `region` parameter (default: the SDK's chain, e.g. AWS_REGION). */
    region: z.string().min(1).optional(),
    /** Static credentials (override the URL's user info). */
    credentials: CredentialsSchema.optional(),
    /** Long-poll wait of one ReceiveMessage call, in seconds (SQS allows 0 to 20). */
    waitTimeSeconds: z.number().int().min(0).max(20).default(20),
    /**
     * The lease: how long a received message stays invisible to the group's other consumers
     * (the visibility timeout), in seconds. It is extended while the handler runs, so a crashed
     * consumer's messages come back after at most this long.
     */
    visibilityTimeoutSeconds: z.number().int().min(2).max(43_200).default(30),
    /** Concurrent ReceiveMessage calls per subscription, at most (each asks for up to 10 messages). */
    pollers: z.number().int().min(1).max(100).default(4),
    /**
     * How long a publisher uses its list of a topic's groups before listing the queues again.
     * A new group's subscribe/ensureGroup resolves only once every publisher's list is this fresh.
     */
    groupCacheMs: ms(0, 3_600_000).default(1_000),
    /**
     * How long after CreateQueue the broker's ListQueues may still miss the new queue (Amazon
     * SQS lists new queues eventually). Default: 1,000 ms on AWS, 0 on a custom endpoint.
     */
    listingLagMs: ms(0, 600_000).optional(),
    /** How long messages are kept for a group without a consumer, in seconds (SQS: 60 s to 14 days). */
    retentionSeconds: z.number().int().min(60).max(1_209_600).default(1_209_600),
    /** A publish not accepted by every group's queue within this long rejects (it retries meanwhile). */
    publishTimeoutMs: ms(1).default(30_000),
    /** One HTTP request without a response after this long fails (and is retried where safe). */
    requestTimeoutMs: ms(1).default(10_000),
    /** TCP connect timeout of one request. */
    connectTimeoutMs: ms(1).default(5_000),
    /** Backoff between failed requests (exponential, jittered): `initialDelayMs` up to `maxDelayMs`. */
    reconnect: z.object({ initialDelayMs: ms(1).default(100), maxDelayMs: ms(1).default(5_000) }).strict().default({ initialDelayMs: 100, maxDelayMs: 5_000 }),
    /**
     * The broker's largest message (body and attributes, bytes on the wire). Amazon SQS and
     * ElasticMQ ≥ 1.6 take 1 MiB; older compatible servers 256 KiB.
     */
    brokerMaxMessageBytes: z.number().int().min(65_536).max(1_048_576).default(1_048_576),
  })
  .strict();

export type SqsOptionsInput = z.input<typeof SqsOptionsSchema>;
export type SqsOptions = z.output<typeof SqsOptionsSchema>;

export function parseSqsOptions(input: unknown): SqsOptions {
  return parseOptions(SqsOptionsSchema, input ?? {}, 'options');
}
