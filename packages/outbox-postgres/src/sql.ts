// Every statement of the outbox, built once per table. Sent rows are deleted in the transaction
// that claimed them, so every row in the table is unsent, and "the oldest row of a key" is the
// next one to send of that key.
import { qualified, quote } from './identifiers.js';

export interface OutboxSql {
  readonly install: string;
  /** $1..$7 the row, $8 the channel. */
  readonly insert: string;
  /** $1 limit: the first row of each key (and rows without a key) that is due, locked. */
  readonly claimHeads: string;
  /** $1 keys, $2 their heads' seqs, $3 limit: the rows after those heads, in order, locked. */
  readonly claimFollowers: string;
  /** $1 seqs. */
  readonly deleteSent: string;
  /** $1 seqs, $2 delays in ms, $3 errors. */
  readonly markFailed: string;
  readonly lag: string;
}

const COLUMNS = 'seq, id, topic, key, headers, body, content_type, deliver_at, attempts';

export function outboxSql(table: string, schema: string | undefined): OutboxSql {
  const t = qualified(table, schema);
  return {
    // One simple-protocol query is one transaction; the advisory lock serializes installs
    // (CREATE ... IF NOT EXISTS alone can fail when two run at once).
    install: [
      `SELECT pg_advisory_xact_lock(hashtext('omnibus-outbox-install'))`,
      `CREATE TABLE IF NOT EXISTS ${t} (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL,
        topic text NOT NULL,
        key text,
        headers jsonb,
        body bytea NOT NULL,
        content_type text NOT NULL,
        deliver_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
        last_error text
      )`,
      // The ordering check ("no older row of this key") and the followers of a key.
      `CREATE INDEX IF NOT EXISTS ${quote(`${table}_key_seq`)} ON ${t} (key, seq) WHERE key IS NOT NULL`,
    ].join(';\n'),
    // pg_notify is delivered when (and only if) the caller's transaction commits.
    insert: `WITH inserted AS (
        INSERT INTO ${t} (id, topic, key, headers, body, content_type, deliver_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq
      )
      SELECT pg_notify($8, '') FROM inserted`,
    // SKIP LOCKED lets relays share the table; the NOT EXISTS keeps a key's rows in order across
    // them: a row is claimable only while no older row of its key exists, and that older row is
    // either locked by the relay sending it or waiting for its retry time. Rows without a key
    // have no order.
    claimHeads: `SELECT ${COLUMNS} FROM ${t} o
      WHERE o.next_attempt_at <= clock_timestamp()
        AND (o.key IS NULL OR NOT EXISTS (SELECT 1 FROM ${t} p WHERE p.key = o.key AND p.seq < o.seq))
      ORDER BY o.seq
      LIMIT $1
      FOR UPDATE OF o SKIP LOCKED`,
    // No other relay claims these while we hold their heads, so they are locked without SKIP
    // LOCKED (a skipped row would leave a gap in its key's order), in seq order.
    claimFollowers: `SELECT ${COLUMNS.split(', ').map((c) => `o.${c}`).join(', ')} FROM ${t} o
      JOIN unnest($1::text[], $2::bigint[]) AS h(key, seq) ON o.key = h.key AND o.seq > h.seq
      ORDER BY o.seq
      LIMIT $3
      FOR UPDATE OF o`,
    deleteSent: `DELETE FROM ${t} WHERE seq = ANY($1::bigint[])`,
    markFailed: `UPDATE ${t} AS o SET attempts = o.attempts + 1,
        next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond',
        last_error = f.error
      FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS f(seq, delay_ms, error)
      WHERE o.seq = f.seq`,
    lag: `SELECT count(*)::int AS unsent,
        (count(*) FILTER (WHERE attempts > 0))::int AS retrying,
        min(created_at) AS oldest,
        (extract(epoch FROM clock_timestamp() - min(created_at)) * 1000)::float8 AS oldest_age_ms
      FROM ${t}`,
  };
}
