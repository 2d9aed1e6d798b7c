import { readFileSync } from 'node:fs';
import { unescape } from 'node:querystring';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { ConfigError, parseOptions } from '@omnibus/core';
import { parseAmqpUrl } from './url.js';

/** PEM text (string or bytes), or several of them (a CA bundle split in parts). */
const Pem = z.union([z.string().min(1), z.instanceof(Buffer), z.array(z.union([z.string().min(1), z.instanceof(Buffer)])).min(1)]);

const TlsSchema = z
  .object({
    /** CA certificate(s) to trust, PEM text. */
    ca: Pem.optional(),
    /** Client certificate for mutual TLS, PEM text. */
    cert: Pem.optional(),
    /** Client private key for mutual TLS, PEM text. */
    key: Pem.optional(),
    /** The same three, read from files at connect time. */
    caFile: z.string().min(1).optional(),
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Passphrase of an encrypted key. Never logged. */
    passphrase: z.string().optional(),
    /** SNI / certificate host name, when it differs from the URL host. */
    servername: z.string().min(1).optional(),
    /** Refuse a broker certificate the CA list does not vouch for. Turn off only in tests. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict();

export const RabbitMQOptionsSchema = z
  .object({
    /**
     * Put in front of every exchange and queue name, so several applications (or test runs)
     * share a virtual host without seeing each other. Letters, digits, `.`, `_`, `-`, `:`.
     * It may not contain `omnibus:` (the transport's own objects are `<prefix>omnibus:…`, so
     * such a prefix's topics would be another prefix's internal objects) nor start with `amq.`.
     */
    prefix: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9._:-]*$/, 'use letters, digits, ".", "_", "-" or ":"')
      .refine((prefix) => !prefix.includes('omnibus:'), 'may not contain "omnibus:" (the namespace of the transport\'s own exchanges and queues)')
      .refine((prefix) => !prefix.startsWith('amq.'), 'may not start with "amq." (reserved by RabbitMQ)')
      .default(''),
    /** Queue type of group queues: `classic` (durable, lazy-free) or `quorum` (replicated, counts deliveries). */
    queueType: z.enum(['classic', 'quorum']).default('classic'),
    /** Heartbeat in seconds (0 disables); default: the URL's `?heartbeat=`, else 20. */
    heartbeatSeconds: z.number().int().min(0).max(3_600).optional(),
    /**
     * Broker prefetch per consumer. Default: the subscription's concurrency. A larger value
     * buffers that many deliveries in the client (handed over as handlers finish) to save a
     * round trip per message; the buffer is released to the broker on stop/close.
     */
    prefetch: z.number().int().min(1).max(65_535).optional(),
    /** `connection_name` client property, shown by `rabbitmqctl list_connections` and the management UI. */
    connectionName: z.string().min(1).max(200).default('omnibus'),
    /** Give up one connection attempt after this long (TCP + TLS + AMQP handshake). */
    connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    /** Retries of the very first connection before connect() rejects (steady-state reconnects never give up). */
    connectRetries: z.number().int().min(0).max(1_000).default(0),
    /** Backoff between reconnect attempts after a connection or channel loss. */
    reconnect: z
      .object({
        initialDelayMs: z.number().int().min(1).max(600_000).default(100),
        maxDelayMs: z.number().int().min(1).max(600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /** How long publish() waits for publisher confirms (reconnects included) before rejecting. */
    publishTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
    /**
     * Largest message accepted (body, key, header names and values, as core measures it; core
     * refuses a larger one before sending anything of its batch). Must not exceed the broker's
     * `max_message_size` (128 MiB by default on RabbitMQ 3.8+, at most 512 MiB), which counts
     * the body: a broker that refuses a message anyway gets it rejected at once with its reason.
     */
    maxMessageBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(512 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /** Most messages published and not yet confirmed at any time (the pipelining window). */
    publishWindow: z.number().int().min(1).max(65_535).default(512),
    /** Most body bytes published and not yet confirmed (one message always goes, however large). */
    publishWindowBytes: z.number().int().min(1).max(2 ** 40).default(32 * 1024 * 1024),
    /**
     * Delay buckets per doubling of the delay: a delayed message waits in the queue of the
     * smallest bucket ≥ its delay, so it arrives at most 2^(1/n) − 1 late (n = 8: ≤ 9 %).
     */
    delayBucketsPerDoubling: z.number().int().min(1).max(64).default(8),
    /**
     * Queue type of the delay buckets. `quorum` (RabbitMQ 3.10+) dead-letters expired messages
     * at-least-once, so a broker crash cannot lose a delayed message; `classic` is lighter but
     * its dead-lettering is at-most-once. The type is part of the bucket names, so switching
     * never clashes with existing buckets of the other type.
     */
    delayQueueType: z.enum(['classic', 'quorum']).default('quorum'),
    /** close(): how long to wait for pending confirms and settlements before cutting the connection. */
    closeTimeoutMs: z.number().int().min(0).max(600_000).default(5_000),
    /**
     * RabbitMQ management HTTP API, read by inspect() for what AMQP does not report (in-flight
     * counts, the groups of a topic). Default: the broker's host on the plugin's default port
     * (`http://<host>:15672` for amqp://, `https://<host>:15671` for amqps://, with the `tls`
     * options), with the AMQP URL's credentials unless this URL has its own. `false`: never used.
     */
    managementUrl: z.union([z.string().min(1), z.literal(false)]).optional(),
    /** Give up one management API request after this long (inspect() then reports what AMQP gave). */
    managementTimeoutMs: z.number().int().min(100).max(60_000).default(3_000),
    tls: TlsSchema.optional(),
  })
  .strict();

export type RabbitMQOptionsInput = z.input<typeof RabbitMQOptionsSchema>;
export type RabbitMQOptions = z.output<typeof RabbitMQOptionsSchema>;

/** Everything the transport needs, resolved from the URL and the options. */
export interface ResolvedConfig {
  readonly options: RabbitMQOptions;
  /** The URL with its password masked, for logs and errors. */
  readonly safeUrl: string;
  /** What amqplib's connect() gets: parsed fields, so the URL string itself never reaches amqplib. */
  readonly connect: {
    readonly protocol: 'amqp' | 'amqps';
    readonly hostname: string;
    readonly port: number;
    readonly username: string;
    readonly password: string;
    /** Percent-encoded, as amqplib unescapes it itself. */
    readonly vhost: string;
    readonly heartbeat: number;
    readonly frameMax: number | undefined;
    readonly channelMax: number | undefined;
  };
  /** Where and as whom to read the management API; undefined with `managementUrl: false`. */
  readonly management: ManagementEndpoint | undefined;
  /** Secrets to scrub from any text we log or throw. */
  readonly secrets: readonly string[];
}

export interface ManagementEndpoint {
  /** Origin and base path (`http://host:15672`), without credentials. */
  readonly base: string;
  readonly username: string;
  readonly password: string;
  /** The virtual host, decoded (`/` when the AMQP URL names none). */
  readonly vhost: string;
}

/** Validate the options and split the URL; throws a ConfigError naming the field (never echoing the URL's userinfo). */
export function resolveConfig(url: string, rawOptions: unknown): ResolvedConfig {
  const options = parseOptions(RabbitMQOptionsSchema, rawOptions ?? {}, 'options');
  if (typeof url !== 'string') throw new ConfigError('url', 'must be a string');
  const parsed = parseAmqpUrl(url);
  const { protocol, safeUrl } = parsed;
  if (options.tls && protocol !== 'amqps') throw new ConfigError('options.tls', 'TLS options need an amqps:// URL');

  const intQuery = (name: string): number | undefined => {
    const value = parsed.query.get(name);
    if (value === null) return undefined;
    if (!/^\d+$/.test(value)) throw new ConfigError('url', `"${safeUrl}": ?${name}= must be a non-negative integer`);
    return Number(value);
  };
  const heartbeat = options.heartbeatSeconds ?? intQuery('heartbeat') ?? 20;
  const username = parsed.username ?? 'guest';
  const password = parsed.password ?? 'guest';
  const management = managementEndpoint(options.managementUrl, { protocol, hostname: parsed.hostname, username, password, vhost: parsed.vhost });

  return {
    options,
    safeUrl,
    connect: {
      protocol,
      hostname: parsed.hostname,
      port: parsed.port,
      username,
      password,
      vhost: parsed.vhost,
      heartbeat,
      frameMax: intQuery('frameMax'),
      channelMax: intQuery('channelMax'),
    },
    management: management?.endpoint,
    secrets: [...parsed.secrets, ...(management?.secrets ?? []), options.tls?.passphrase].filter((s): s is string => typeof s === 'string' && s.length > 0),
  };
}

const MANAGEMENT_EXPECTED = 'expected http(s)://host:port, optionally with user:password@ (percent-encoded)';

/** The management API endpoint: the option's URL, or the AMQP host on the plugin's default port. Never echoes the URL. */
function managementEndpoint(
  option: string | false | undefined,
  amqp: { protocol: 'amqp' | 'amqps'; hostname: string; username: string; password: string; vhost: string },
): { endpoint: ManagementEndpoint; secrets: string[] } | undefined {
  if (option === false) return undefined;
  // amqplib's rule: no path is the vhost "/", a path is the percent-encoded vhost.
  const vhost = amqp.vhost === '' ? '/' : unescape(amqp.vhost);
  if (option === undefined) {
    const host = amqp.hostname.includes(':') ? `[${amqp.hostname}]` : amqp.hostname;
    const base = amqp.protocol === 'amqps' ? `https://${host}:15671` : `http://${host}:15672`;
    return { endpoint: { base, username: amqp.username, password: amqp.password, vhost }, secrets: [] };
  }
  let url: URL;
  try {
    url = new URL(option);
  } catch {
    throw new ConfigError('options.managementUrl', `not a URL (${MANAGEMENT_EXPECTED})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('options.managementUrl', `the scheme must be http:// or https:// (${MANAGEMENT_EXPECTED})`);
  if (url.search || url.hash) throw new ConfigError('options.managementUrl', `a query or "#" is not allowed (${MANAGEMENT_EXPECTED})`);
  const own = url.username !== '' || url.password !== '';
  const username = own ? decodeURIComponent(url.username) : amqp.username;
  const password = own ? decodeURIComponent(url.password) : amqp.password;
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  return { endpoint: { base, username, password, vhost }, secrets: own ? [url.password, password] : [] };
}

/** Socket options for tls.connect (amqps only): CA, client certificate and key. */
export function tlsSocketOptions(options: RabbitMQOptions): ConnectionOptions {
  const tls = options.tls;
  if (!tls) return {};
  const read = (path: string | undefined, field: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new ConfigError(`options.tls.${field}`, `cannot read "${path}": ${(cause as Error).message}`, { cause });
    }
  };
  const out: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  const ca = tls.ca ?? read(tls.caFile, 'caFile');
  const cert = tls.cert ?? read(tls.certFile, 'certFile');
  const key = tls.key ?? read(tls.keyFile, 'keyFile');
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.servername) out.servername = tls.servername;
  return out;
}
