import { z } from 'zod';
import { parseOptions } from '@omnibus/core';

const ms = (min: number, max = 86_400_000) => z.number().int().min(min).max(max);

/** A stream name part: NATS stream names may not contain whitespace, `.`, `*`, `>`, `/` or `\`. */
const STREAM_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;
/** One or more subject tokens without wildcards: `omnibus`, `acme.events`. */
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const TlsSchema = z
  .object({
    /** CA certificate(s) to trust (PEM file). */
    caFile: z.string().min(1).optional(),
    /** Client certificate for mutual TLS (PEM file). */
    certFile: z.string().min(1).optional(),
    /** Client private key for mutual TLS (PEM file). */
    keyFile: z.string().min(1).optional(),
    /** TLS before the NATS INFO exchange (server option `handshake_first`). */
    handshakeFirst: z.boolean().optional(),
  })
  .strict();

/**
 * Options of the NATS JetStream transport (`createBus({ url: 'nats://…', options })`).
 * Every field is documented in the package README.
 */
export const NatsOptionsSchema = z
  .object({
    /** More servers of the cluster, besides the URL's (`host:port` or `nats://host:port`). */
    servers: z.array(z.string().min(1)).default([]),
    /** Token authentication (overrides a token in the URL). Never logged. */
    token: z.string().min(1).optional(),
    /** User / password authentication (override the URL's). Never logged. */
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    /** A `.creds` file (JWT + NKey seed) for decentralised auth. */
    credsFile: z.string().min(1).optional(),
    /** An NKey seed (`SU…`) for NKey authentication; or `nkeySeedFile` to read it from a file. Never logged. */
    nkeySeed: z.string().min(1).optional(),
    nkeySeedFile: z.string().min(1).optional(),
    /** `true` or TLS files: connect with TLS (implied by a `tls://` URL). */
    tls: z.union([z.boolean(), TlsSchema]).optional(),
    /** Connection name shown by the server's monitoring. */
    name: z.string().min(1).max(200).default('omnibus'),
    /** Streams are named `<streamPrefix>_<topic>`, `.` as `_` and `_` as `~` (see naming.ts). */
    streamPrefix: z.string().regex(STREAM_PREFIX, 'use 1-64 letters, digits, "_" or "-"').default('OMNIBUS'),
    /** A topic's subject is `<subjectPrefix>.<topic>`. */
    subjectPrefix: z.string().max(128).regex(SUBJECT_PREFIX, 'use subject tokens of letters, digits, "_" or "-", separated by "."').default('omnibus'),
    /** Stream storage: `file` survives a server restart, `memory` does not. */
    storage: z.enum(['file', 'memory']).default('file'),
    /** Stream replicas (clustered JetStream). */
    replicas: z.number().int().min(1).max(5).default(1),
    /** `interest`: a message is kept until every group acked it; `limits`: kept until maxAgeMs / maxBytes. */
    retention: z.enum(['interest', 'limits']).default('interest'),
    /** Drop messages older than this (0: no limit). */
    maxAgeMs: ms(0, 10 * 365 * 86_400_000).default(0),
    /** Largest size of one topic's stream in bytes (-1: no limit); the oldest messages go first. */
    maxBytes: z.number().int().min(-1).default(-1),
    /** Messages with the same deduplicationId published within this window are stored once (`Nats-Msg-Id`). */
    duplicateWindowMs: ms(100).default(120_000),
    /** A delivery not acked (nor kept alive) within this long is redelivered. */
    ackWaitMs: ms(1_000).default(30_000),
    /** Group-wide bound on unacknowledged messages, including those waiting for a delayed retry; raised to the concurrency if lower. */
    maxAckPending: z.number().int().min(1).max(1_000_000).default(10_000),
    /** How long one pull request waits for messages; idle heartbeats come every pullExpiresMs / 6 (0.5-5 s). */
    pullExpiresMs: ms(1_000, 300_000).default(30_000),
    /** How long publish() waits for one PubAck before retrying (same message id, so never stored twice). */
    publishTimeoutMs: ms(100, 600_000).default(5_000),
    /** Retries of a publish that timed out or found no stream, before publish() rejects. */
    publishRetries: z.number().int().min(0).max(100).default(3),
    /** Most messages waiting for their PubAck at once, across every publish() call of the transport. */
    publishWindow: z.number().int().min(1).max(10_000).default(256),
    /** Timeout of JetStream API calls (stream and consumer management, acks). */
    requestTimeoutMs: ms(100, 600_000).default(5_000),
    /** Give up the first connection attempt after this long. */
    connectTimeoutMs: ms(100, 600_000).default(10_000),
    /** Wait between reconnect attempts (reconnects never give up). */
    reconnectTimeWaitMs: ms(10, 600_000).default(1_000),
    /** Client pings; two unanswered pings drop the connection and reconnect. */
    pingIntervalMs: ms(100, 600_000).default(30_000),
    /** close(): how long to wait for pending acks before cutting the connection. */
    closeTimeoutMs: ms(0, 600_000).default(5_000),
  })
  .strict();

export type NatsOptionsInput = z.input<typeof NatsOptionsSchema>;
export type NatsOptions = z.output<typeof NatsOptionsSchema>;

export function parseNatsOptions(input: unknown): NatsOptions {
  return parseOptions(NatsOptionsSchema, input ?? {}, 'options');
}
