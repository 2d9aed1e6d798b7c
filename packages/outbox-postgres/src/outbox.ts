import { randomUUID } from 'node:crypto';
import { assertDelayMs, assertTopicName, ConfigError, isReservedHeader, MAX_DELAY_MS, validateBody, type Codec, type Topic } from '@omnibus/core';
import type { ClientBase, Pool } from 'pg';
import { parseOutboxOptions, type OutboxOptionsInput } from './options.js';
import { outboxSql, type OutboxSql } from './sql.js';

/** NOTIFY channel names are identifiers: at most 63 bytes. */
const MAX_CHANNEL_LENGTH = 63;

export interface OutboxPublishOptions {
  /** Ordering key: rows of one key are sent in order, one after the other; also the broker's partitioning key. */
  readonly key?: string;
  /** Message id; a UUID by default. Kept through every retry, so consumers deduplicate on it. */
  readonly id?: string;
  /** User headers; names starting with `ce-` or `omnibus-`, and `content-type`, are reserved. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deliver no earlier than this many ms after this call (at most MAX_DELAY_MS, 24 days). */
  readonly delayMs?: number;
  /** Deliver no earlier than this time (at most 24 days ahead); give `delayMs` or `deliverAt`, not both. */
  readonly deliverAt?: Date;
}

/** How far behind the relays are. */
export interface OutboxLag {
  /** Rows not sent yet (committed; a row of an open transaction is not counted). */
  readonly unsent: number;
  /** Of those, rows whose publish failed at least once (waiting for their retry). */
  readonly retrying: number;
  /** When the oldest unsent row was written; undefined when none is left. */
  readonly oldestCreatedAt: Date | undefined;
  /** Its age by the database clock, in ms; 0 when none is left. */
  readonly oldestAgeMs: number;
}

/** What publish() and lag() need: a pg client (in the caller's transaction) or a pool. */
export type Queryable = Pick<ClientBase, 'query'>;

/**
 * A transactional outbox table: `publish()` writes a message as a row in the caller's
 * transaction; a relay (createRelay) sends committed rows to the bus. See README.md.
 */
export class Outbox {
  /** The table as written in SQL (`"schema"."table"`). */
  readonly table: string;
  /** The NOTIFY channel of this table: `<table>`, or `<schema>.<table>`. */
  readonly channel: string;
  /** @internal statements of this table, for the relay. */
  readonly sql: OutboxSql;
  private readonly codec: Codec;

  constructor(options: OutboxOptionsInput = {}) {
    const parsed = parseOutboxOptions(options);
    this.sql = outboxSql(parsed.table, parsed.schema);
    this.codec = parsed.codec;
    this.table = parsed.schema === undefined ? `"${parsed.table}"` : `"${parsed.schema}"."${parsed.table}"`;
    this.channel = parsed.schema === undefined ? parsed.table : `${parsed.schema}.${parsed.table}`;
    if (Buffer.byteLength(this.channel) > MAX_CHANNEL_LENGTH) {
      throw new ConfigError('options.schema', `the notification channel "<schema>.<table>" would be ${this.channel.length} characters; schema and table must fit ${MAX_CHANNEL_LENGTH} together`);
    }
  }

  /** Create the table and its index if they do not exist (safe from several processes at once). */
  async install(pool: Pick<Pool, 'query'>): Promise<void> {
    await pool.query(this.sql.install);
  }

  /**
   * Write a message to the outbox on `client`, inside the caller's open transaction: it is sent
   * if and only if that transaction commits. The body is validated against the topic's schema
   * (a ValidationError, nothing written) and stored encoded, as the bus would send it. Resolves
   * with the message id.
   */
  async publish<TInput>(client: Queryable, topic: Topic<unknown, TInput>, body: TInput, options: OutboxPublishOptions = {}): Promise<string> {
    assertTopicName(topic.name);
    await validateBody(topic, body); // a ValidationError, nothing written
    const { key, id = randomUUID(), headers } = options;
    if (key !== undefined && typeof key !== 'string') throw new ConfigError('key', 'must be a string');
    if (typeof id !== 'string' || id.length === 0) throw new ConfigError('id', 'must be a non-empty string');
    checkHeaders(headers);
    const deliverAt = dueTime(options);
    const codec = topic.codec ?? this.codec;
    const bytes = codec.encode(body);
    const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const hasHeaders = headers !== undefined && Object.keys(headers).length > 0;
    await client.query(this.sql.insert, [id, topic.name, key ?? null, hasHeaders ? JSON.stringify(headers) : null, buffer, codec.contentType, deliverAt ?? null, this.channel]);
    return id;
  }

  /** Unsent rows and the age of the oldest, on any connection. */
  async lag(queryable: Queryable): Promise<OutboxLag> {
    const { rows } = await queryable.query<{ unsent: number; retrying: number; oldest: Date | null; oldest_age_ms: number | null }>(this.sql.lag);
    const row = rows[0];
    return {
      unsent: row?.unsent ?? 0,
      retrying: row?.retrying ?? 0,
      oldestCreatedAt: row?.oldest ?? undefined,
      oldestAgeMs: Math.max(0, row?.oldest_age_ms ?? 0),
    };
  }
}

/** `createOutbox({ table?, schema?, codec? })`; `install(pool)` once before use. */
export function createOutbox(options: OutboxOptionsInput = {}): Outbox {
  return new Outbox(options);
}

/** The same rules as bus.publish, checked before anything is written. */
function checkHeaders(headers: Readonly<Record<string, string>> | undefined): void {
  if (headers === undefined) return;
  if (typeof headers !== 'object' || headers === null) throw new ConfigError('headers', 'must be an object of string values');
  for (const name of Object.keys(headers)) {
    if (isReservedHeader(name)) throw new ConfigError(`headers.${name}`, 'is reserved for Omnibus envelope headers (ce-*, omnibus-*, content-type); choose another name');
    if (typeof headers[name] !== 'string') throw new ConfigError(`headers.${name}`, 'header values must be strings');
  }
}

/**
 * The absolute time a delayed message is due, fixed now: the relay hands it to the broker as
 * `deliverAt`, so the delay counts from this call however late the relay sends the row.
 */
function dueTime(options: OutboxPublishOptions): Date | undefined {
  const { delayMs, deliverAt } = options;
  assertDelayMs(delayMs, 'delayMs');
  if (deliverAt === undefined) return delayMs ? new Date(Date.now() + delayMs) : undefined;
  if (delayMs !== undefined) throw new ConfigError('deliverAt', 'give delayMs or deliverAt, not both');
  if (!(deliverAt instanceof Date) || Number.isNaN(deliverAt.getTime())) throw new ConfigError('deliverAt', 'must be a valid Date');
  if (deliverAt.getTime() - Date.now() > MAX_DELAY_MS) throw new ConfigError('deliverAt', `${deliverAt.toISOString()} is more than 24 days (MAX_DELAY_MS) ahead, the longest delay every transport keeps`);
  return deliverAt;
}
