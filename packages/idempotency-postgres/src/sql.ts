// Every statement of the store, built once per table. Times are the database's clock
// (clock_timestamp(), not now(): inside a caller's long transaction now() is when it began),
// so consumers on machines with skewed clocks agree on when a lease or a TTL ends.
import { qualified, quote } from './identifiers.js';

export interface StoreSql {
  readonly install: string;
  /** $1 key, $2 owner, $3 leaseMs. One row: granted, or the state and ms left of the live entry. */
  readonly claim: string;
  /** $1 key, $2 owner, $3 leaseMs. */
  readonly extend: string;
  /** $1 key, $2 owner. */
  readonly release: string;
  /** $1 key, $2 owner, $3 ttlMs. Done whatever the key held. */
  readonly commit: string;
  /** $1 key, $2 ttlMs. Done unless it is done already (and not expired): then no row is returned. */
  readonly commitIn: string;
  /** $1 limit. */
  readonly sweep: string;
}

const ms = (param: string): string => `clock_timestamp() + ${param} * interval '1 millisecond'`;

export function storeSql(table: string, schema: string | undefined): StoreSql {
  const t = qualified(table, schema);
  return {
    // One simple-protocol query runs as one transaction: the advisory lock makes concurrent
    // installs wait for each other (CREATE ... IF NOT EXISTS alone can fail on a race).
    install: [
      `SELECT pg_advisory_xact_lock(hashtext('omnibus-idempotency-install'))`,
      `CREATE TABLE IF NOT EXISTS ${t} (
        key text PRIMARY KEY,
        state text NOT NULL CHECK (state IN ('claimed', 'done')),
        owner text,
        expires_at timestamptz NOT NULL
      )`,
      `CREATE INDEX IF NOT EXISTS ${quote(`${table}_expires_at`)} ON ${t} (expires_at)`,
    ].join(';\n'),
    // The INSERT takes the key when it is absent or expired. When it did not, the second branch
    // reports the entry in the way: read from the statement's snapshot, which may be older than
    // the row the INSERT met (see PostgresIdempotencyStore.claim for how that is handled).
    claim: `WITH granted AS (
        INSERT INTO ${t} AS e (key, state, owner, expires_at) VALUES ($1, 'claimed', $2, ${ms('$3')})
        ON CONFLICT (key) DO UPDATE SET state = 'claimed', owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
        WHERE e.expires_at <= clock_timestamp()
        RETURNING 1
      )
      SELECT 'granted' AS state, NULL::float8 AS ms_left FROM granted
      UNION ALL
      SELECT e.state, ceil(extract(epoch FROM e.expires_at - clock_timestamp()) * 1000)::float8 AS ms_left
      FROM ${t} e WHERE e.key = $1 AND NOT EXISTS (SELECT 1 FROM granted)`,
    extend: `UPDATE ${t} SET expires_at = ${ms('$3')} WHERE key = $1 AND state = 'claimed' AND owner = $2`,
    release: `DELETE FROM ${t} WHERE key = $1 AND state = 'claimed' AND owner = $2`,
    commit: `INSERT INTO ${t} AS e (key, state, owner, expires_at) VALUES ($1, 'done', $2, ${ms('$3')})
      ON CONFLICT (key) DO UPDATE SET state = 'done', owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at`,
    commitIn: `INSERT INTO ${t} AS e (key, state, owner, expires_at) VALUES ($1, 'done', NULL, ${ms('$2')})
      ON CONFLICT (key) DO UPDATE SET state = 'done', owner = NULL, expires_at = EXCLUDED.expires_at
      WHERE NOT (e.state = 'done' AND e.expires_at > clock_timestamp())
      RETURNING 1`,
    // By ctid in bounded chunks: one huge DELETE would hold its locks and bloat WAL at once. The
    // outer condition is checked again on a row a claim renewed meanwhile, which is then kept.
    sweep: `DELETE FROM ${t} WHERE ctid IN (SELECT ctid FROM ${t} WHERE expires_at <= clock_timestamp() LIMIT $1)
      AND expires_at <= clock_timestamp()`,
  };
}
