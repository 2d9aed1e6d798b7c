import { ConfigError, type ClaimResult, type IdempotencyStore } from '@omnibus/core';
import type { ClientBase } from 'pg';
import { DuplicateEffectError } from './errors.js';
import { parsePostgresIdempotencyOptions, type PostgresIdempotencyOptionsInput, type Queryable } from './options.js';
import { storeSql, type StoreSql } from './sql.js';

/** Rows deleted per statement by sweep(). */
const SWEEP_CHUNK = 10_000;
/** A claim whose snapshot disagreed with the row it met is asked again (see claim()); this many times at most. */
const CLAIM_ATTEMPTS = 5;

interface ClaimRow extends Record<string, unknown> {
  state: 'granted' | 'claimed' | 'done';
  ms_left: number | null;
}

/**
 * An IdempotencyStore in one PostgreSQL table (see README.md "Table"): keys survive restarts and
 * are shared by every consumer that uses the same table. Each operation is one statement.
 */
export class PostgresIdempotencyStore implements IdempotencyStore {
  readonly name = 'postgres';
  /** The table, as written in SQL (`"schema"."table"`). */
  readonly table: string;
  private readonly pool: Queryable;
  private readonly sql: StoreSql;

  constructor(options: PostgresIdempotencyOptionsInput) {
    const parsed = parsePostgresIdempotencyOptions(options);
    this.pool = parsed.pool;
    this.sql = storeSql(parsed.table, parsed.schema);
    this.table = parsed.schema === undefined ? `"${parsed.table}"` : `"${parsed.schema}"."${parsed.table}"`;
  }

  /** Create the table and its index if they do not exist (safe to run from several processes at once). */
  async install(): Promise<void> {
    await this.pool.query(this.sql.install);
  }

  async claim(key: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    assertKey(key, 'key');
    assertKey(owner, 'owner');
    assertMs(leaseMs, 'leaseMs');
    let busyBefore = false;
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const { rows } = await this.pool.query<ClaimRow>(this.sql.claim, [key, owner, leaseMs]);
      const row = rows[0];
      if (row?.state === 'granted') return { state: 'claimed' };
      // Not granted, so a live entry was in the way. Its state comes from the statement's
      // snapshot, taken before the INSERT met the row and maybe waited for its lock (a
      // commitIn() transaction holds it). A change committed meanwhile is missed: the row seems
      // gone or expired, or still claimed though it is done now. A new statement (a new snapshot)
      // sees what is there after the wait; a live done entry cannot have changed.
      const msLeft = row?.ms_left ?? 0;
      if (row && msLeft > 0) {
        if (row.state === 'done') return { state: 'done' };
        if (busyBefore) return { state: 'busy', retryAfterMs: msLeft };
        busyBefore = true; // asked once more: busy is rare (duplicates racing), a stale one costly
      }
    }
    // Still racing after several snapshots: another owner keeps changing the key right now.
    return { state: 'busy', retryAfterMs: 1 };
  }

  async extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    assertMs(leaseMs, 'leaseMs');
    const result = await this.pool.query(this.sql.extend, [key, owner, leaseMs]);
    return result.rowCount === 1;
  }

  async commit(key: string, owner: string, ttlMs: number): Promise<void> {
    assertKey(key, 'key');
    assertMs(ttlMs, 'ttlMs');
    await this.pool.query(this.sql.commit, [key, owner, ttlMs]);
  }

  async release(key: string, owner: string): Promise<void> {
    await this.pool.query(this.sql.release, [key, owner]);
  }

  /**
   * Mark `key` done inside the caller's open transaction on `client`, so the effect written in
   * that transaction and the mark commit or roll back together. Throws a DuplicateEffectError
   * when the key is already done (another transaction committed the effect first): roll back.
   * Until the transaction ends, the key's row is locked: a claim of the key waits for it.
   */
  async commitIn(client: Pick<ClientBase, 'query'>, key: string, ttlMs: number): Promise<void> {
    assertKey(key, 'key');
    assertMs(ttlMs, 'ttlMs');
    const result = await client.query(this.sql.commitIn, [key, ttlMs]);
    if (result.rowCount !== 1) throw new DuplicateEffectError(key);
  }

  /** Delete expired keys (claims whose lease ended, done keys past their TTL). Returns how many. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (;;) {
      const result = await this.pool.query(this.sql.sweep, [SWEEP_CHUNK]);
      const count = result.rowCount ?? 0;
      deleted += count;
      if (count < SWEEP_CHUNK) return deleted;
    }
  }
}

/** `createPostgresIdempotencyStore({ pool })`; call `install()` once before use. */
export function createPostgresIdempotencyStore(options: PostgresIdempotencyOptionsInput): PostgresIdempotencyStore {
  return new PostgresIdempotencyStore(options);
}

function assertKey(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(field, 'must be a non-empty string');
}

/** Leases and TTLs: whole milliseconds, at least 1, at most ~68 years (the interval arithmetic stays exact). */
function assertMs(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2_147_483_647_000) {
    throw new ConfigError(field, `must be a whole number of milliseconds, at least 1, got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
}
