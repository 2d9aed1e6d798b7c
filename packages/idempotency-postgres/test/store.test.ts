import { randomBytes, randomUUID } from 'node:crypto';
import { ConfigError } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresIdempotencyStore, DuplicateEffectError, type PostgresIdempotencyStore } from '../src/index.js';

describeWithBroker('postgres', 'PostgresIdempotencyStore', (endpoint) => {
  const table = `omnibus_idem_${randomBytes(4).toString('hex')}`;
  let pool: pg.Pool;
  let store: PostgresIdempotencyStore;
  const owner = () => randomUUID();
  const key = () => `k-${randomUUID()}`;
  /** The lease or TTL of `k` ends now: set in the table instead of waiting for the clock. */
  const expire = (k: string) => pool.query(`UPDATE ${table} SET expires_at = clock_timestamp() - interval '1 millisecond' WHERE key = $1`, [k]);
  /** Resolves once `n` sessions wait for a lock on this file's table (checked every 20 ms, up to 5 s). */
  const lockWaiters = async (n: number) => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%${table}%`]);
      if ((rows[0]?.n ?? 0) >= n) return;
      if (Date.now() > deadline) throw new Error(`${n} sessions waiting for a lock on ${table}: not within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const row = async (k: string) => (await pool.query<{ state: string; owner: string | null }>(`SELECT state, owner FROM ${table} WHERE key = $1`, [k])).rows[0];

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: endpoint.url, max: 60 });
    store = createPostgresIdempotencyStore({ pool, table });
    // Twice at once: installs from several processes must not trip over each other.
    await Promise.all([store.install(), store.install()]);
  });

  afterAll(async () => {
    await pool?.query(`DROP TABLE IF EXISTS ${table}`);
    await pool?.end();
  });

  it('goes absent → claimed → done, and a live claim of any owner is busy', async () => {
    const k = key();
    const a = owner();
    expect(await store.claim(k, a, 30_000)).toEqual({ state: 'claimed' });
    const busy = await store.claim(k, owner(), 30_000);
    expect(busy.state).toBe('busy');
    if (busy.state !== 'busy') return;
    expect(busy.retryAfterMs).toBeGreaterThan(25_000);
    expect(busy.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect((await store.claim(k, a, 30_000)).state).toBe('busy'); // the same owner too
    await store.commit(k, a, 60_000);
    expect(await store.claim(k, owner(), 30_000)).toEqual({ state: 'done' });
    expect(await row(k)).toEqual({ state: 'done', owner: a });
  });

  it('grants an expired claim and an expired done key again', async () => {
    const k = key();
    await store.claim(k, owner(), 30_000);
    await expire(k);
    const b = owner();
    expect(await store.claim(k, b, 30_000)).toEqual({ state: 'claimed' });
    expect((await row(k))?.owner).toBe(b);
    await store.commit(k, b, 60_000);
    await expire(k);
    expect(await store.claim(k, owner(), 30_000)).toEqual({ state: 'claimed' });
  });

  it('ends a short lease by the database clock', async () => {
    const k = key();
    expect((await store.claim(k, owner(), 300)).state).toBe('claimed');
    const busy = await store.claim(k, owner(), 300);
    expect(busy.state).toBe('busy');
    // Poll the store itself until the lease is over (bounded): it must end within about 300 ms.
    const started = Date.now();
    let result = busy;
    while (result.state === 'busy' && Date.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(result.state === 'busy' ? result.retryAfterMs : 10, 100)));
      result = await store.claim(k, owner(), 300);
    }
    expect(result.state).toBe('claimed');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('extends and releases only for the owner', async () => {
    const k = key();
    const a = owner();
    await store.claim(k, a, 1_000);
    expect(await store.extend(k, owner(), 60_000)).toBe(false);
    expect(await store.extend(k, a, 60_000)).toBe(true);
    const busy = await store.claim(k, owner(), 1_000);
    expect(busy.state === 'busy' && busy.retryAfterMs > 50_000).toBe(true);
    await store.release(k, owner()); // someone else's release: a no-op
    expect((await store.claim(k, owner(), 1_000)).state).toBe('busy');
    await store.release(k, a);
    expect(await row(k)).toBeUndefined();
    expect((await store.claim(k, owner(), 1_000)).state).toBe('claimed');
    // A done key is no one's claim: neither extended nor released.
    const d = key();
    await store.claim(d, a, 1_000);
    await store.commit(d, a, 60_000);
    expect(await store.extend(d, a, 60_000)).toBe(false);
    await store.release(d, a);
    expect((await row(d))?.state).toBe('done');
  });

  it('gives exactly one of 50 racing claims the key, on a new key and on an expired one', async () => {
    const k = key();
    const race = () => Promise.all(Array.from({ length: 50 }, () => store.claim(k, owner(), 30_000)));
    const first = await race();
    expect(first.filter((r) => r.state === 'claimed')).toHaveLength(1);
    expect(first.filter((r) => r.state === 'busy')).toHaveLength(49);
    await expire(k);
    const second = await race();
    expect(second.filter((r) => r.state === 'claimed')).toHaveLength(1);
    expect(second.filter((r) => r.state === 'busy')).toHaveLength(49);
  });

  it('commitIn rolled back leaves the claim, which is claimable once its lease ends; committed marks the key done', async () => {
    const k = key();
    const a = owner();
    await store.claim(k, a, 30_000);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await store.commitIn(client, k, 60_000);
      await client.query('ROLLBACK');
      expect(await row(k)).toEqual({ state: 'claimed', owner: a });
      expect((await store.claim(k, owner(), 30_000)).state).toBe('busy');
      await expire(k);
      const b = owner();
      expect(await store.claim(k, b, 30_000)).toEqual({ state: 'claimed' });

      await client.query('BEGIN');
      await client.query(`CREATE TEMP TABLE effect (id int) ON COMMIT DROP`);
      await client.query(`INSERT INTO effect VALUES (1)`);
      await store.commitIn(client, k, 60_000);
      await client.query('COMMIT');
      expect(await store.claim(k, owner(), 30_000)).toEqual({ state: 'done' });
    } finally {
      client.release();
    }
  });

  it('commitIn throws DuplicateEffectError on a done key, and a second transaction waits for the first', async () => {
    const k = key();
    await store.claim(k, owner(), 30_000);
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query('BEGIN');
      await second.query('BEGIN');
      await store.commitIn(first, k, 60_000);
      // The second commitIn blocks on the key's row lock until the first transaction ends.
      let settled = false;
      const racing = store.commitIn(second, k, 60_000).then(
        () => ((settled = true), 'committed'),
        (error: unknown) => ((settled = true), error),
      );
      // A claim meanwhile also waits for the first transaction, then sees its outcome.
      const claim = store.claim(k, owner(), 30_000);
      await lockWaiters(2);
      expect(settled).toBe(false);
      await first.query('COMMIT');
      const outcome = await racing;
      expect(outcome).toBeInstanceOf(DuplicateEffectError);
      expect((outcome as DuplicateEffectError).key).toBe(k);
      await second.query('ROLLBACK');
      expect(await claim).toEqual({ state: 'done' });
    } finally {
      first.release();
      second.release();
    }
  });

  it('sweep() deletes expired keys only', async () => {
    const live = key();
    const gone = key();
    const doneGone = key();
    await store.claim(live, owner(), 60_000);
    await store.claim(gone, owner(), 60_000);
    await store.commit(doneGone, owner(), 60_000);
    await expire(gone);
    await expire(doneGone);
    expect(await store.sweep()).toBeGreaterThanOrEqual(2);
    expect(await row(gone)).toBeUndefined();
    expect(await row(doneGone)).toBeUndefined();
    expect((await row(live))?.state).toBe('claimed');
  });

  it('refuses bad options and arguments with a ConfigError naming the field', () => {
    expect(() => createPostgresIdempotencyStore({ pool, table: 'bad-name; drop' })).toThrow(ConfigError);
    expect(() => createPostgresIdempotencyStore({ pool, table: 'x'.repeat(60) })).toThrow(expect.objectContaining({ field: 'options.table' }));
    expect(() => createPostgresIdempotencyStore({ pool: {} as pg.Pool })).toThrow(/options\.pool/);
    return expect(store.claim(key(), owner(), 0)).rejects.toThrow(/leaseMs/);
  });

  it('keeps one key per table and schema', async () => {
    const schema = `omnibus_s_${randomBytes(3).toString('hex')}`;
    await pool.query(`CREATE SCHEMA ${schema}`);
    try {
      const other = createPostgresIdempotencyStore({ pool, table, schema });
      await other.install();
      const k = key();
      await store.commit(k, owner(), 60_000);
      expect(await other.claim(k, owner(), 30_000)).toEqual({ state: 'claimed' });
    } finally {
      await pool.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  });
});
