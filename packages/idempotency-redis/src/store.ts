import { Redis } from 'ioredis';
import { ClosedError, ConfigError, ConnectionError, Redactor, redactUrl, urlSecrets, type ClaimResult, type IdempotencyStore } from '@omnibus/core';
import { parseRedisIdempotencyOptions, type RedisIdempotencyOptionsInput } from './options.js';
import { scripts } from './scripts.js';

/** Defaults of a client the store creates (with `url`). */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** The value of a done key (a claim's is `claimed:<owner>`). */
const DONE = 'done';

/** `createRedisIdempotencyStore({ url })` or `({ client })`: see README.md. */
export function createRedisIdempotencyStore(options: RedisIdempotencyOptionsInput): RedisIdempotencyStore {
  return new RedisIdempotencyStore(options);
}

/**
 * IdempotencyStore on Redis: one string key per idempotency key, `<keyPrefix><key>`, holding
 * `claimed:<owner>` (expiring when the lease ends) or `done` (expiring after the done TTL).
 * Every read-then-write is one Lua script (scripts.ts); commit is a plain SET.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly name = 'redis';
  readonly keyPrefix: string;
  private readonly client: Redis;
  /** The store created the client (from `url`): it closes it in close(). */
  private readonly ownsClient: boolean;
  /** Where Redis is, for messages: never with a password. */
  private readonly display: string;
  private readonly redactor: Redactor;
  private closing: Promise<void> | undefined;

  constructor(input: RedisIdempotencyOptionsInput) {
    const options = parseRedisIdempotencyOptions(input);
    this.keyPrefix = options.keyPrefix;
    if (options.url !== undefined) {
      const url = options.url;
      this.redactor = new Redactor(urlSecrets(url));
      this.display = redactUrl(url);
      try {
        this.client = new Redis(url, {
          lazyConnect: true,
          connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
          // Operations wait for a reconnect, bounded by commandTimeout.
          maxRetriesPerRequest: null,
          connectionName: 'omnibus-idempotency',
        });
      } catch (error) {
        throw new ConfigError('options.url', `cannot use ${this.display}: ${this.redactor.text(error instanceof Error ? error.message : String(error))}`);
      }
      // Connection errors surface on the failed operation (scrubbed); an 'error' event without a listener would crash the process.
      this.client.on('error', () => undefined);
      this.ownsClient = true;
    } else {
      const client = options.client as Redis;
      this.client = client;
      this.redactor = new Redactor([client.options.password]);
      this.display = `${client.options.host ?? 'localhost'}:${client.options.port ?? 6379}`;
      this.ownsClient = false;
    }
  }

  async claim(key: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const ms = duration(leaseMs, 'leaseMs');
    const reply = await this.call('claim', () => scripts.claim.run(this.client, this.keyOf(key), owner, ms));
    const [state, retryAfterMs] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (state === 'claimed') return { state: 'claimed' };
    if (state === 'done') return { state: 'done' };
    if (state === 'busy') return { state: 'busy', retryAfterMs: Number(retryAfterMs) };
    throw new ConnectionError(`redis idempotency store at ${this.display}: claim got an unexpected reply`);
  }

  async extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const ms = duration(leaseMs, 'leaseMs');
    return (await this.call('extend', () => scripts.extend.run(this.client, this.keyOf(key), owner, ms))) === 1;
  }

  async commit(key: string, _owner: string, ttlMs: number): Promise<void> {
    const ms = duration(ttlMs, 'ttlMs');
    await this.call('commit', () => this.client.set(this.keyOf(key), DONE, 'PX', ms));
  }

  async release(key: string, owner: string): Promise<void> {
    await this.call('release', () => scripts.release.run(this.client, this.keyOf(key), owner));
  }

  /** Close the client if the store created it (a client passed in stays open: it is the application's). Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (!this.ownsClient) return;
    if (this.client.status === 'wait') {
      this.client.disconnect(); // never connected (lazy): nothing to QUIT
      return;
    }
    try {
      await Promise.race([this.client.quit(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
    } catch {
      // Already gone.
    }
    this.client.disconnect();
  }

  private keyOf(key: string): string {
    if (typeof key !== 'string' || key.length === 0) throw new ConfigError('key', 'an idempotency key must be a non-empty string');
    return `${this.keyPrefix}${key}`;
  }

  /** Run one operation; a Redis failure is a ConnectionError whose message and cause are scrubbed of credentials. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (this.closing) throw new ClosedError('the redis idempotency store is closed');
    try {
      return await run();
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      const message = this.redactor.text(error instanceof Error ? error.message : String(error));
      throw new ConnectionError(`redis idempotency store at ${this.display}: ${operation} failed: ${message}`, { cause: this.redactor.error(error) });
    }
  }
}

/** A lease or TTL as whole milliseconds for PX (at least 1); anything but a positive finite number is a ConfigError. */
function duration(ms: number, field: string): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
    throw new ConfigError(field, `must be a positive finite number of milliseconds, got ${typeof ms === 'number' ? String(ms) : typeof ms}`);
  }
  return Math.ceil(ms);
}
