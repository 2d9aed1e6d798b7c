import { backoffDelay, cutBytes, Redactor, silentLogger, thrownMessage, urlSecrets, type Logger } from '@omnibus/core';
import type { Pool, PoolClient } from 'pg';
import { EncodedTopics } from './encoded-topic.js';
import { NotificationListener } from './listener.js';
import { parseRelayOptions, type RelayOptions, type RelayOptionsInput } from './options.js';
import type { OutboxLag } from './outbox.js';
import { publishRows } from './publisher.js';
import { bySeq, type OutboxRow, type PublishedRow } from './rows.js';
import { Wakeup } from './wakeup.js';

type RelayState = 'created' | 'running' | 'closing' | 'closed';

/** Counters since start(). */
export interface RelayStats {
  /** Rows the broker accepted (and that were deleted, unless the relay died before its commit). */
  readonly sent: number;
  /** Failed publishes of rows (each kept for a retry). */
  readonly failed: number;
  /** Transactions that claimed at least one row. */
  readonly batches: number;
}

interface BatchOutcome {
  readonly claimed: number;
  readonly failed: number;
  /** The soonest retry of a row that failed in this batch. */
  readonly retryInMs: number | undefined;
}

/** Backoff after a database error (connect, claim, commit): the loop goes on. */
const DB_RETRY = { type: 'exponential', initialDelayMs: 100, maxDelayMs: 10_000, factor: 2, jitter: true } as const;
/** last_error is kept short: it is for people reading the table. */
const MAX_ERROR_BYTES = 1_000;

/**
 * Sends committed outbox rows to the bus (see README.md "Relay"). Any number of relays may run on
 * one table, in one process or many. One batch at a time per relay:
 *   BEGIN; claim rows (FOR UPDATE SKIP LOCKED, the first unsent row of each key and the rows
 *   after it); publish them, in waves per key; DELETE what the broker accepted; push back what
 *   failed (attempts, backoff, last_error); COMMIT.
 * A relay that dies before its COMMIT releases its rows, and the next relay sends them again with
 * the same ids.
 */
export class Relay {
  private state: RelayState = 'created';
  private loop: Promise<void> | undefined;
  private readonly options: RelayOptions;
  private readonly logger: Logger;
  private readonly redactor: Redactor;
  private readonly wakeup = new Wakeup();
  private readonly topics = new EncodedTopics();
  private readonly listener: NotificationListener | undefined;
  private counts = { sent: 0, failed: 0, batches: 0 };

  constructor(options: RelayOptionsInput) {
    this.options = parseRelayOptions(options);
    this.redactor = new Redactor(poolSecrets(this.options.pool));
    this.logger = this.options.logger ?? silentLogger;
    const redact = (text: string) => this.redactor.text(text);
    if (this.options.listen) this.listener = new NotificationListener(this.options.pool, this.options.outbox.channel, () => this.wakeup.wake(), this.logger, redact);
  }

  /** Start relaying: resolves once the relay listens for notifications (the first batch is claimed at once). */
  async start(): Promise<void> {
    if (this.state !== 'created') throw new Error(`the relay is ${this.state}: start() runs once`);
    this.state = 'running';
    await this.listener?.start();
    this.loop = this.run();
  }

  /** Stop: the batch in flight finishes (its publishes resolve or time out, and it commits), then the LISTEN connection is closed. The pool and the bus are the caller's. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'created') this.state = 'closed';
    if (this.state === 'closed') return;
    this.state = 'closing';
    this.wakeup.wake();
    await this.loop;
    this.listener?.close();
    this.state = 'closed';
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Unsent rows and the age of the oldest (relay lag). */
  lag(): Promise<OutboxLag> {
    return this.options.outbox.lag(this.options.pool);
  }

  stats(): RelayStats {
    return { ...this.counts };
  }

  private async run(): Promise<void> {
    let dbFailures = 0;
    while (this.state === 'running') {
      let outcome: BatchOutcome;
      try {
        outcome = await this.batch();
        dbFailures = 0;
      } catch (error) {
        dbFailures += 1;
        const retryInMs = backoffDelay(DB_RETRY, dbFailures);
        this.logger.error({ table: this.options.outbox.table, err: this.scrub(error), retryInMs }, 'omnibus outbox relay: batch failed in the database; its rows are kept');
        await this.wakeup.wait(retryInMs);
        continue;
      }
      // A full batch, or one that sent rows (which may have unblocked their keys' next rows): go on.
      if (outcome.claimed > 0 && outcome.failed < outcome.claimed) continue;
      await this.wakeup.wait(Math.min(this.options.pollIntervalMs, outcome.retryInMs ?? Number.POSITIVE_INFINITY));
    }
  }

  /** One transaction: claim, publish, delete the sent rows, push back the failed ones, commit. */
  private async batch(): Promise<BatchOutcome> {
    const { pool, outbox, batchSize } = this.options;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const rows = await this.claim(client, batchSize);
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { claimed: 0, failed: 0, retryInMs: undefined };
      }
      const result = await publishRows(this.options.bus, this.topics, rows, this.options.publishTimeoutMs, (sent) => this.published(sent));
      if (result.sent.length) await client.query(outbox.sql.deleteSent, [result.sent.map((row) => row.seq)]);
      let retryInMs: number | undefined;
      let errors: string[] = [];
      if (result.failed.length) {
        const delays = result.failed.map(({ row }) => backoffDelay(this.options.retry, row.attempts + 1));
        retryInMs = Math.min(...delays);
        errors = result.failed.map(({ error }) => cutBytes(this.scrub(error), MAX_ERROR_BYTES));
        await client.query(outbox.sql.markFailed, [result.failed.map(({ row }) => row.seq), delays, errors]);
      }
      await client.query('COMMIT');
      this.counts.batches += 1;
      this.counts.sent += result.sent.length;
      this.counts.failed += result.failed.length;
      const first = result.failed[0];
      if (first) {
        // Logged once the table says so (attempts, last_error), one line per batch.
        this.logger.warn(
          { table: outbox.table, rows: result.failed.length, topic: first.row.topic, id: first.row.id, attempts: first.row.attempts + 1, err: errors[0], retryInMs },
          'omnibus outbox relay: publish failed; the rows are kept and retried',
        );
      }
      return { claimed: rows.length, failed: result.failed.length, retryInMs };
    } catch (error) {
      broken = error instanceof Error ? error : new Error(thrownMessage(error));
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      // A connection that failed mid-transaction is destroyed rather than handed to the next user.
      client.release(broken);
    }
  }

  /** The due first row of each key (and keyless rows), then the rows after those heads, by seq. */
  private async claim(client: PoolClient, limit: number): Promise<OutboxRow[]> {
    const { sql } = this.options.outbox;
    const heads = (await client.query<OutboxRow>(sql.claimHeads, [limit])).rows;
    const keyed = heads.filter((row) => row.key !== null);
    const room = limit - heads.length;
    if (room <= 0 || keyed.length === 0) return heads;
    const followers = (await client.query<OutboxRow>(sql.claimFollowers, [keyed.map((row) => row.key), keyed.map((row) => row.seq), room])).rows;
    return [...heads, ...followers].sort(bySeq);
  }

  private async published(rows: readonly OutboxRow[]): Promise<void> {
    const hook = this.options.onPublished;
    if (!hook) return;
    try {
      await hook(rows.map((row): PublishedRow => ({ id: row.id, topic: row.topic, key: row.key ?? undefined, seq: row.seq, attempts: row.attempts })));
    } catch (error) {
      this.logger.warn({ err: this.scrub(error) }, 'omnibus outbox relay: onPublished threw (ignored: the rows were sent)');
    }
  }

  private scrub(error: unknown): string {
    return this.redactor.text(thrownMessage(error));
  }
}

/** `createRelay({ pool, bus, outbox })`, then `start()`. */
export function createRelay(options: RelayOptionsInput): Relay {
  return new Relay(options);
}

/** The pool's password and connection string secrets, so they never reach a log or last_error. */
function poolSecrets(pool: Pool): string[] {
  const options = (pool as { options?: { connectionString?: unknown; password?: unknown } }).options;
  const secrets: string[] = [];
  if (typeof options?.connectionString === 'string') secrets.push(...urlSecrets(options.connectionString));
  if (typeof options?.password === 'string') secrets.push(options.password);
  return secrets;
}
