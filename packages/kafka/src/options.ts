import { z } from 'zod';

/**
 * An option of 0.1 that no longer exists, with what to do instead: a ConfigError that says so
 * rather than "unrecognized key".
 */
const removed = (instead: string) => z.undefined({ error: `no longer exists: ${instead}` }).optional();

const FIXED_NAMES = 'internal topic names are fixed so that no user topic can collide with them (see "Migrating from 0.1" in the @omnibus/kafka README)';

const SslSchema = z.union([
  z.boolean(),
  z
    .object({
      ca: z.union([z.string(), z.array(z.string())]).optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      passphrase: z.string().optional(),
      rejectUnauthorized: z.boolean().optional(),
      servername: z.string().optional(),
    })
    .strict(),
]);

/** The Kafka clients the transport can run on (see `driver`). */
export const KAFKA_DRIVERS = ['platformatic', 'kafkajs'] as const;
export type KafkaDriverName = (typeof KAFKA_DRIVERS)[number];

const credentials = { username: z.string().min(1), password: z.string() };

const SaslSchema = z.discriminatedUnion('mechanism', [
  z.object({ mechanism: z.literal('plain'), ...credentials }).strict(),
  z.object({ mechanism: z.literal('scram-sha-256'), ...credentials }).strict(),
  z.object({ mechanism: z.literal('scram-sha-512'), ...credentials }).strict(),
]);

/**
 * Options of the Kafka transport (`createBus({ url: 'kafka://…', options })`).
 * Every field is documented in the package README; defaults favour production
 * (the test suites pass small timeouts).
 */
export const KafkaOptionsSchema = z
  .object({
    /**
     * The Kafka client under the transport: `platformatic` (@platformatic/kafka, maintained) or
     * `kafkajs` (no release since February 2023; kept for one version to fall back on).
     */
    driver: z.enum(KAFKA_DRIVERS).default('platformatic'),
    /** Bootstrap brokers (`host:port`); overrides the hosts of the URL. */
    brokers: z.array(z.string().regex(/^[^\s,/@]+:\d{1,5}$/, 'expected "host:port"')).min(1).optional(),
    clientId: z.string().min(1).default('omnibus'),
    /** TLS: `true`, or Node TLS options. `kafkas://` turns it on. */
    ssl: SslSchema.optional(),
    /** SASL credentials; a URL with `user:pass@` gives PLAIN (or `?mechanism=scram-sha-256|scram-sha-512`). */
    sasl: SaslSchema.optional(),
    /** Create missing topics (main, delay, retry). false: they must exist (e.g. no CreateTopics ACL). */
    createTopics: z.boolean().default(true),
    /** Partitions of every topic the transport creates (main, delay and retry topics). */
    partitions: z.number().int().min(1).max(10_000).default(3),
    /** Replication factor of created topics; unset: the broker's `default.replication.factor`. */
    replicationFactor: z.number().int().min(1).max(32).optional(),
    /** Consumer-group session timeout (the broker bounds it, 6 s to 30 min by default). */
    sessionTimeoutMs: z.number().int().min(1_000).default(30_000),
    /** How long the coordinator waits for members to rejoin during a rebalance. */
    rebalanceTimeoutMs: z.number().int().min(1_000).default(60_000),
    /** Heartbeat period; also how fast a member notices a rebalance. */
    heartbeatIntervalMs: z.number().int().min(10).default(1_000),
    /** Longest fetch long-poll; bounds how long a rebalance, resume or close waits for the fetch loop. */
    maxWaitTimeMs: z.number().int().min(10).max(30_000).default(500),
    /** Settled offsets are committed at most this long after the settlement (0: at once). */
    commitIntervalMs: z.number().int().min(0).max(60_000).default(100),
    /** Fetched messages buffered per partition before fetching that partition pauses. */
    bufferSize: z.number().int().min(1).max(100_000).default(500),
    /**
     * TCP (and TLS, SASL) connect timeout of one broker connection; `connectTimeoutMs` bounds the
     * whole of connect(). Default 3000.
     */
    brokerConnectTimeoutMs: z.number().int().min(100).optional(),
    /** Deprecated (0.1's name, too close to `connectTimeoutMs`): `brokerConnectTimeoutMs`. Accepted until 1.0. */
    connectionTimeoutMs: z.number().int().min(100).optional(),
    /** Timeout of one Kafka request. */
    requestTimeoutMs: z.number().int().min(100).default(30_000),
    /** Retries of a failed Kafka request (connect, produce, admin), with exponential backoff. */
    retries: z.number().int().min(0).max(100).default(5),
    /** First retry delay; doubles per retry up to 10x. */
    retryInitialDelayMs: z.number().int().min(1).default(100),
    /** connect() gives up after this long. */
    connectTimeoutMs: z.number().int().min(100).default(30_000),
    /** publish() gives up after this long (the broker may still have stored the batch). */
    publishTimeoutMs: z.number().int().min(100).default(30_000),
    /** subscribe() waits this long for the first partition assignment. */
    joinTimeoutMs: z.number().int().min(100).default(60_000),
    /** Upper bound on the final commit plus leaving the group when a subscription closes. */
    closeTimeoutMs: z.number().int().min(100).default(10_000),
    /** Largest key + header names and values + body accepted by publish (core's measure); keep it ~48 KB below the broker's `max.message.bytes`. */
    maxMessageBytes: z.number().int().min(1_024).default(1_000_000),
    /**
     * Bounded topics (README "Bounded topics"): most messages let in per backlog check of a topic.
     * 1: across processes the bound overshoots by at most one publish per other process; n: by
     * n, and one process publishes up to n times faster to the topic.
     */
    boundedPerRound: z.number().int().min(1).max(10_000).default(1),
    /** Prepended to every Kafka topic and consumer-group id (tenancy, test isolation). */
    prefix: z.string().regex(/^[A-Za-z0-9._-]*$/, 'may only use letters, digits, ".", "_" and "-"').max(100).default(''),
    groupIdTemplate: removed(`the group id is always "<prefix><topic>.<group>"; ${FIXED_NAMES}`),
    retryTopicTemplate: removed(FIXED_NAMES),
    delayTopicTemplate: removed(FIXED_NAMES),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.heartbeatIntervalMs >= options.sessionTimeoutMs) {
      ctx.addIssue({ code: 'custom', path: ['heartbeatIntervalMs'], message: 'must be lower than sessionTimeoutMs (a third of it is usual)' });
    }
    if (options.connectionTimeoutMs !== undefined && options.brokerConnectTimeoutMs !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['connectionTimeoutMs'], message: 'is the deprecated name of brokerConnectTimeoutMs; set only brokerConnectTimeoutMs' });
    }
  })
  // One name downstream: the deprecated alias folded into brokerConnectTimeoutMs.
  .transform(({ connectionTimeoutMs, brokerConnectTimeoutMs, ...rest }) => ({ ...rest, brokerConnectTimeoutMs: brokerConnectTimeoutMs ?? connectionTimeoutMs ?? 3_000 }));

export type KafkaOptionsInput = z.input<typeof KafkaOptionsSchema>;
export type KafkaOptions = z.output<typeof KafkaOptionsSchema>;
export type SaslOptions = z.output<typeof SaslSchema>;
export type SslOptions = z.output<typeof SslSchema>;
