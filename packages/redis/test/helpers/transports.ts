import { Redis } from 'ioredis';
import { silentLogger, type Logger, type OutgoingMessage } from '@omnibus/core';
import { deleteRedisPrefix, uniqueName } from '@omnibus/test-support';
import { createTransport, Keys, type RedisOptionsInput, type RedisTransport } from '../../src/index.js';

/** Fast settings for tests: short blocks, claims and scheduler polls. */
export const fast = { blockMs: 100, claimIdleMs: 1_000, schedulerIntervalMs: 50 } satisfies RedisOptionsInput;

/**
 * Transports and raw clients of one test file, all under one unique key prefix,
 * closed (and the prefix's keys deleted) by `cleanup()`.
 */
export class Harness {
  readonly prefix = `${uniqueName('omnibus-redis-test')}:`;
  readonly keys = new Keys(this.prefix);
  private readonly transports: RedisTransport[] = [];
  private readonly clients: Redis[] = [];

  constructor(readonly url: string) {}

  transport(options: RedisOptionsInput = {}, logger: Logger = silentLogger, url = this.url): RedisTransport {
    const transport = createTransport({ url, options: { prefix: this.prefix, ...fast, ...options }, logger }) as RedisTransport;
    this.transports.push(transport);
    return transport;
  }

  /** A plain ioredis client, to look at or break Redis state behind the transport's back. */
  redis(url = this.url): Redis {
    const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 3 });
    client.on('error', () => undefined);
    this.clients.push(client);
    return client;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.transports.splice(0).map((t) => t.close()));
    for (const client of this.clients.splice(0)) client.disconnect();
    await deleteRedisPrefix(this.url, this.prefix).catch(() => undefined);
  }
}

export function message(topic: string, id: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return { id, topic, key: undefined, headers: {}, body: new TextEncoder().encode(JSON.stringify({ id })), ...extra };
}
