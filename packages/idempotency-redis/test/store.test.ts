import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClosedError, ConfigError, ConnectionError, isOmnibusError } from '@omnibus/core';
import { deleteRedisPrefix, describeWithBroker, uniqueName } from '@omnibus/test-support';
import { createRedisIdempotencyStore, type RedisIdempotencyStore } from '../src/index.js';

describeWithBroker('redis', 'redis idempotency store', (endpoint) => {
  const keyPrefix = `${uniqueName('omnibus-idempotency-test')}:`;
  let redis: Redis;
  let store: RedisIdempotencyStore;
  const stores: RedisIdempotencyStore[] = [];
  const open = (): RedisIdempotencyStore => {
    const created = createRedisIdempotencyStore({ url: endpoint.url, keyPrefix });
    stores.push(created);
    return created;
  };
  /** Wait until Redis has let the key expire (an observable state: no timer guesses). */
  const expired = (key: string) => expect.poll(() => redis.exists(`${keyPrefix}${key}`), { timeout: 5_000, interval: 10 }).toBe(0);

  beforeAll(() => {
    redis = new Redis(endpoint.url);
    store = open();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    redis.disconnect();
    await deleteRedisPrefix(endpoint.url, keyPrefix);
  });

  it('claims a free key, answers busy with the time left while claimed, and done once committed', async () => {
    expect(await store.claim('k1', 'a', 10_000)).toEqual({ state: 'claimed' });
    const busy = await store.claim('k1', 'b', 10_000);
    expect(busy.state).toBe('busy');
    const retryAfterMs = busy.state === 'busy' ? busy.retryAfterMs : -1;
    expect(retryAfterMs).toBeGreaterThan(9_000);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
    // The same owner is busy too: a claim is never re-entered.
    expect((await store.claim('k1', 'a', 10_000)).state).toBe('busy');
    expect(await redis.get(`${keyPrefix}k1`)).toBe('claimed:a');
    await store.commit('k1', 'a', 60_000);
    expect(await store.claim('k1', 'b', 10_000)).toEqual({ state: 'done' });
    expect(await redis.get(`${keyPrefix}k1`)).toBe('done');
    expect(await redis.pttl(`${keyPrefix}k1`)).toBeGreaterThan(50_000);
  });

  it('grants the key again once a lease or a done TTL ran out', async () => {
    expect((await store.claim('k2', 'a', 40)).state).toBe('claimed');
    await expired('k2');
    expect((await store.claim('k2', 'b', 10_000)).state).toBe('claimed');
    await store.commit('k2', 'b', 40);
    expect((await store.claim('k2', 'c', 10_000)).state).toBe('done');
    await expired('k2');
    expect((await store.claim('k2', 'c', 10_000)).state).toBe('claimed');
  });

  it('extends only the owner’s live claim', async () => {
    expect((await store.claim('k3', 'a', 1_000)).state).toBe('claimed');
    expect(await store.extend('k3', 'b', 60_000)).toBe(false);
    expect(await redis.pttl(`${keyPrefix}k3`)).toBeLessThanOrEqual(1_000);
    expect(await store.extend('k3', 'a', 60_000)).toBe(true);
    expect(await redis.pttl(`${keyPrefix}k3`)).toBeGreaterThan(50_000);
    await store.commit('k3', 'a', 60_000);
    expect(await store.extend('k3', 'a', 60_000)).toBe(false);
    expect(await store.extend('absent', 'a', 60_000)).toBe(false);
    expect(await redis.exists(`${keyPrefix}absent`)).toBe(0);
  });

  it('releases only the owner’s claim, never a done key', async () => {
    expect((await store.claim('k4', 'a', 60_000)).state).toBe('claimed');
    await store.release('k4', 'b');
    expect((await store.claim('k4', 'b', 60_000)).state).toBe('busy');
    await store.release('k4', 'a');
    expect(await redis.exists(`${keyPrefix}k4`)).toBe(0);
    expect((await store.claim('k4', 'b', 60_000)).state).toBe('claimed');
    // Commit marks done whoever holds the claim (the effect happened); release cannot undo it.
    await store.commit('k4', 'a', 60_000);
    await store.release('k4', 'b');
    expect((await store.claim('k4', 'c', 60_000)).state).toBe('done');
  });

  it('gives exactly one of 50 racing claims of one key, across 5 connections', async () => {
    const racers = Array.from({ length: 5 }, () => open());
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (racers[i % 5] as RedisIdempotencyStore).claim('race', `owner-${i}`, 60_000)));
    expect(results.filter((r) => r.state === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.state === 'busy')).toHaveLength(49);
    const winner = results.findIndex((r) => r.state === 'claimed');
    expect(await redis.get(`${keyPrefix}race`)).toBe(`claimed:owner-${winner}`);
  });

  it('keeps a client it was given open on close, and is closed itself', async () => {
    const client = new Redis(endpoint.url);
    const own = createRedisIdempotencyStore({ client, keyPrefix });
    expect((await own.claim('k5', 'a', 60_000)).state).toBe('claimed');
    await own.close();
    await expect(own.claim('k6', 'a', 60_000)).rejects.toBeInstanceOf(ClosedError);
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
  });

  it('refuses bad leases and keys with a ConfigError naming them', async () => {
    for (const lease of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(store.claim('k7', 'a', lease)).rejects.toSatisfy((e) => e instanceof ConfigError && e.field === 'leaseMs');
    }
    await expect(store.commit('k7', 'a', 0)).rejects.toSatisfy((e) => e instanceof ConfigError && e.field === 'ttlMs');
    await expect(store.claim('', 'a', 1_000)).rejects.toSatisfy((e) => e instanceof ConfigError && e.field === 'key');
  });
});

describe('redis idempotency store options', () => {
  it('validates its options with a ConfigError naming the field', () => {
    const field = (input: unknown): string | undefined => {
      try {
        createRedisIdempotencyStore(input as never);
      } catch (error) {
        return error instanceof ConfigError ? error.field : 'not a ConfigError';
      }
      return undefined;
    };
    expect(field({})).toBe('options.url');
    expect(field({ url: 'redis://localhost', client: new Redis({ lazyConnect: true }) })).toBe('options.client');
    expect(field({ url: 'redis://localhost', urll: 'x' })).toBe('options.urll');
    expect(field({ url: 'redis://localhost', keyPrefix: '' })).toBe('options.keyPrefix');
    expect(field({ client: {} })).toBe('options.client');
    expect(field({ client: new Redis({ lazyConnect: true }), commandTimeoutMs: 100 })).toBe('options.commandTimeoutMs');
  });

  it('never puts the URL’s password in an error, its message or its cause', async () => {
    const secret = 'pa55:w@rd-s3cret';
    const store = createRedisIdempotencyStore({ url: `redis://user:${encodeURIComponent(secret)}@127.0.0.1:1/0`, connectTimeoutMs: 200, commandTimeoutMs: 300 });
    const error = await store.claim('k', 'a', 1_000).catch((e: unknown) => e);
    await store.close();
    expect(error).toBeInstanceOf(ConnectionError);
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    const text = JSON.stringify(error, Object.getOwnPropertyNames(error)) + String((error as Error).stack) + JSON.stringify((error as Error).cause ?? null, Object.getOwnPropertyNames((error as Error).cause ?? {}));
    expect((error as Error).message).toContain('redis://user:***@127.0.0.1:1/0');
    for (const form of [secret, encodeURIComponent(secret), 's3cret']) expect(text).not.toContain(form);
  });
});
