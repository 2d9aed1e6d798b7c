import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { ConfigError, parseOptions } from '@omnibus/core';
import { parseAmqp10Url } from './url.js';

const ms = (min: number, max: number) => z.number().int().min(min).max(max);

/** PEM text (string or bytes). */
const Pem = z.union([z.string().min(1), z.instanceof(Buffer)]);

const TlsSchema = z
  .strictObject({
    /** CA certificate(s) to trust, PEM. */
    ca: Pem.optional(),
    /** Client certificate and key for mutual TLS, PEM. */
    cert: Pem.optional(),
    key: Pem.optional(),
    /** Passphrase of an encrypted key. Never logged. */
    passphrase: z.string().optional(),
    /** SNI / certificate host name, when it differs from the URL host. */
    servername: z.string().min(1).optional(),
    /** Refuse a broker certificate the CA list does not vouch for. Turn off only in tests. */
    rejectUnauthorized: z.boolean().default(true),
  });

/**
 * Options of the AMQP 1.0 transport (`createBus({ url: 'amqp10://…', options })`).
 * Every field is documented in the package README.
 */
export const Amqp10OptionsSchema = z.strictObject({
  /**
   * Put in front of every address and queue name, so several applications (or test runs) share a
   * broker without seeing each other. Letters, digits, `.`, `_`, `-`: the characters of a topic
   * name, so a prefixed name is still one Artemis' address settings (`#`, `*`) match literally.
   */
  prefix: z.string().max(64).regex(/^[A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-"').default(''),
  /** The AMQP container id this transport opens its connection with (default: omnibus-<random>). */
  containerId: z.string().min(1).max(200).optional(),
  /** Give up one connection attempt after this long (TCP + TLS + SASL + AMQP open). */
  connectTimeoutMs: ms(100, 600_000).default(10_000),
  /**
   * The idle time-out announced in AMQP open: the broker sends a frame at least every half of it,
   * and a connection silent for twice this long is taken for dead and replaced. 0: none.
   */
  idleTimeoutMs: z.union([z.literal(0), ms(500, 3_600_000)]).default(30_000),
  /** Backoff between reconnect attempts (exponential, with jitter). Reconnects never give up while the transport is open. */
  reconnect: z
    .strictObject({
      initialDelayMs: ms(1, 600_000).default(100),
      maxDelayMs: ms(1, 600_000).default(10_000),
    })
    .prefault({}),
  /** How long publish() waits for the broker's `accepted` (reconnects included) before it rejects. */
  publishTimeoutMs: ms(100, 3_600_000).default(30_000),
  /** close(): how long to wait for outstanding dispositions and the AMQP close before cutting the socket. */
  closeTimeoutMs: ms(0, 600_000).default(5_000),
  /**
   * Largest message accepted (body, key, header names and values, as core measures it; core refuses
   * a larger one before anything of its batch is sent). Artemis streams messages above its
   * `amqpMinLargeMessageSize` (100 KiB by default) to large-message files.
   */
  maxMessageBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .max(512 * 1024 * 1024)
    .default(4 * 1024 * 1024),
  tls: TlsSchema.optional(),
});

export type Amqp10OptionsInput = z.input<typeof Amqp10OptionsSchema>;
export type Amqp10Options = z.output<typeof Amqp10OptionsSchema>;

/** Everything the transport needs, resolved from the URL and the options. */
export interface ResolvedConfig {
  readonly options: Amqp10Options;
  /** The URL with its password masked, for logs and errors. */
  readonly safeUrl: string;
  readonly connect: {
    readonly tls: boolean;
    readonly host: string;
    readonly port: number;
    readonly username: string | undefined;
    readonly password: string | undefined;
  };
  /** Secrets to scrub from any text we log or throw. */
  readonly secrets: readonly string[];
}

/** Validate the options and split the URL; throws a ConfigError naming the field (never echoing the URL's userinfo). */
export function resolveConfig(url: unknown, rawOptions: unknown): ResolvedConfig {
  const options = parseOptions(Amqp10OptionsSchema, rawOptions ?? {}, 'options');
  if (typeof url !== 'string') throw new ConfigError('url', 'must be a string');
  const parsed = parseAmqp10Url(url);
  if (options.tls && !parsed.tls) throw new ConfigError('options.tls', 'TLS options need an amqp10s:// URL');
  if (options.reconnect.maxDelayMs < options.reconnect.initialDelayMs) {
    throw new ConfigError('options.reconnect.maxDelayMs', 'must not be smaller than initialDelayMs');
  }
  return {
    options,
    safeUrl: parsed.safeUrl,
    connect: { tls: parsed.tls, host: parsed.hostname, port: parsed.port, username: parsed.username, password: parsed.password },
    secrets: [...parsed.secrets, options.tls?.passphrase].filter((s): s is string => typeof s === 'string' && s.length > 0),
  };
}

/** Socket options for tls.connect (amqp10s only). */
export function tlsSocketOptions(options: Amqp10Options, host: string): ConnectionOptions {
  const tls = options.tls;
  const out: ConnectionOptions = { servername: tls?.servername ?? host, rejectUnauthorized: tls?.rejectUnauthorized ?? true };
  if (tls?.ca) out.ca = tls.ca;
  if (tls?.cert) out.cert = tls.cert;
  if (tls?.key) out.key = tls.key;
  if (tls?.passphrase !== undefined) out.passphrase = tls.passphrase;
  return out;
}
