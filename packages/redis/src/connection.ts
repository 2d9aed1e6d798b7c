import { backoffDelay, exponentialBackoff, withTimeout, type Backoff } from '@omnibus/core';
import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import type { RedisOptions } from './options.js';
import { parseRedisUrl, secretForms } from './url.js';

/** What every connection of one transport shares: ioredis settings and the secrets to redact. */
export interface ConnectionSettings {
  readonly ioredis: IORedisOptions;
  /** Passwords that must never appear in an error or log line. */
  readonly secrets: readonly string[];
  /** The URL without credentials, for messages. */
  readonly display: string;
}

/**
 * Build ioredis settings from the URL and the options. The URL is parsed here (parseRedisUrl),
 * not by ioredis: explicit options win over the URL (ioredis lets the URL win), and a password
 * that was not URL-encoded never ends up in a message.
 */
export function connectionSettings(url: string, options: RedisOptions): ConnectionSettings {
  const parsed = parseRedisUrl(url);
  const username = options.username ?? parsed.username;
  const password = options.password ?? parsed.password;
  const tlsWanted = options.tls !== undefined && options.tls !== false ? options.tls : parsed.tls;
  const reconnect = reconnectBackoff(options, { jitter: true });

  const ioredis: IORedisOptions = {
    host: parsed.host,
    port: parsed.port,
    db: options.db ?? parsed.db ?? 0,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tlsWanted ? { tls: tlsWanted === true ? {} : { ...tlsWanted } } : {}),
    // connect() is explicit; commands issued while reconnecting wait (bounded by commandTimeout).
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    // A connection that answers nothing for this long while a command waits is dead, even if no
    // reset ever arrives (a half-open connection, traffic silently dropped): ioredis destroys the
    // socket and reconnects. Without it such a connection stays "ready" for ever, and every
    // command on it times out in turn.
    socketTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    connectionName: 'omnibus',
    retryStrategy: (times: number) => reconnectDelay(reconnect, times),
  };
  return { ioredis, secrets: [...new Set([...parsed.secrets, ...secretForms(options.password)])], display: parsed.display };
}

/** Doublings of the reconnect delay at most: beyond them it stays where it got (or at maxDelayMs). */
const MAX_DOUBLINGS = 20;

/** `options.reconnect` as a Backoff: doubling from initialDelayMs up to maxDelayMs. */
export function reconnectBackoff(options: RedisOptions, { jitter }: { readonly jitter: boolean }): Backoff {
  return exponentialBackoff(options.reconnect.initialDelayMs, options.reconnect.maxDelayMs, { jitter });
}

/** The delay after `failures` consecutive failures (1-based), doubling at most MAX_DOUBLINGS times. */
export function reconnectDelay(backoff: Backoff, failures: number): number {
  return backoffDelay(backoff, Math.min(failures, MAX_DOUBLINGS + 1));
}

/** A new, not yet connected client. */
export function createClient(settings: ConnectionSettings, overrides: IORedisOptions = {}): Redis {
  return new Redis({ ...settings.ioredis, ...overrides });
}

/**
 * Connect a lazy client, failing after `timeoutMs`; on failure the client is disconnected.
 * ioredis rejects connect() with a bare "Connection is closed." and emits the real cause
 * (WRONGPASS, a TLS certificate error, ECONNREFUSED) as an 'error' event: that one is thrown.
 */
export async function connectClient(client: Redis, timeoutMs: number): Promise<void> {
  let cause: unknown;
  const remember = (error: unknown) => {
    cause ??= error;
  };
  client.on('error', remember);
  const ready = async () => {
    await client.connect();
    await client.ping();
  };
  try {
    await withTimeout(ready(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
  } catch (error) {
    client.disconnect();
    throw cause ?? error;
  } finally {
    client.off('error', remember);
  }
}

/** Redis replied with this error code (`NOGROUP`, `BUSYGROUP`, ...). */
export function isRedisError(error: unknown, code: string): boolean {
  return error instanceof Error && (error.message.startsWith(`${code} `) || error.message === code || error.message.includes(`${code} `));
}
