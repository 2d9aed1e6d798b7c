import { Redis, type RedisOptions as IORedisOptions } from 'ioredis';
import { ConfigError, redactSecrets, redactUrl } from '@omnibus/core';
import type { RedisOptions } from './options.js';

/** What every connection of one transport shares: ioredis settings and the secrets to redact. */
export interface ConnectionSettings {
  readonly ioredis: IORedisOptions;
  /** Passwords that must never appear in an error or log line. */
  readonly secrets: readonly string[];
  /** The URL without credentials, for messages. */
  readonly display: string;
}

/**
 * Build ioredis settings from the URL and the options. The URL is parsed here, not by
 * ioredis, so that explicit options win over the URL (ioredis lets the URL win).
 */
export function connectionSettings(url: string, options: RedisOptions): ConnectionSettings {
  const display = redactUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('url', `"${display}" is not a valid URL (expected redis://[user:password@]host[:port][/db])`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError('url', `"${display}" must start with redis:// or rediss://`);
  }
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) throw new ConfigError('url', `"${display}": the path must be a database number`);

  const username = options.username ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
  const password = options.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  const tlsWanted = options.tls !== undefined && options.tls !== false ? options.tls : parsed.protocol === 'rediss:';
  const { minDelayMs, maxDelayMs } = options.reconnect;

  const ioredis: IORedisOptions = {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db: options.db ?? (path ? Number(path) : 0),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tlsWanted ? { tls: tlsWanted === true ? {} : { ...tlsWanted } } : {}),
    // connect() is explicit; commands issued while reconnecting wait (bounded by commandTimeout).
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    connectionName: 'omnibus',
    retryStrategy: (times: number) => {
      const exponential = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(times - 1, 20));
      return Math.round(exponential / 2 + Math.random() * (exponential / 2));
    },
  };
  return { ioredis, secrets: [password, parsed.password, decodeURIComponent(parsed.password)].filter((s): s is string => !!s), display };
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
  let timer: NodeJS.Timeout | undefined;
  let cause: unknown;
  const remember = (error: unknown) => {
    cause ??= error;
  };
  client.on('error', remember);
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.connect(), timeout]);
    await Promise.race([client.ping(), timeout]);
  } catch (error) {
    client.disconnect();
    throw cause ?? error;
  } finally {
    clearTimeout(timer);
    client.off('error', remember);
  }
}

/** The message of any thrown value, with URLs and known secrets redacted. */
export function safeMessage(error: unknown, secrets: readonly string[]): string {
  const text = error instanceof Error ? error.message : String(error);
  return redactSecrets(text, secrets);
}

/** An Error safe to log or hand to a caller: redacted message, no cause that could carry secrets. */
export function safeError(error: unknown, secrets: readonly string[], prefix?: string): Error {
  const message = safeMessage(error, secrets);
  const safe = new Error(prefix ? `${prefix}: ${message}` : message);
  if (error instanceof Error) safe.name = error.name;
  return safe;
}

/** Redis replied with this error code (`NOGROUP`, `BUSYGROUP`, ...). */
export function isRedisError(error: unknown, code: string): boolean {
  return error instanceof Error && (error.message.startsWith(`${code} `) || error.message === code || error.message.includes(`${code} `));
}
