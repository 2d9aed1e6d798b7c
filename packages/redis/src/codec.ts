import { randomBytes } from 'node:crypto';
import type { TransportMessage } from '@omnibus/core';

/**
 * How a message is stored in a stream entry:
 *
 *   id       the message id
 *   key      the key (field absent when the key is undefined)
 *   headers  JSON object of string headers (any string value round-trips)
 *   body     the raw bytes
 *   attempt  only on redelivery entries: the attempt number of their first delivery. Written only by
 *            Omnibus' requeue script into the group's redelivery stream (an internal key), and read
 *            only there: on a topic stream, which anyone may XADD to, the field is ignored.
 */
export const Fields = { id: 'id', key: 'key', headers: 'headers', body: 'body', attempt: 'attempt' } as const;

export type FieldList = (string | Buffer)[];

/**
 * The entry's field list. `headersJson`: the headers already serialised (publish does it
 * once for the size check and the entry); serialised here when omitted.
 */
export function entryFields(message: TransportMessage, attempt?: number, headersJson: string = JSON.stringify(message.headers)): FieldList {
  // Copy the bytes (the only copy this side of ioredis): the publisher may reuse its buffer
  // while the command waits for a reconnect, or is resent after one.
  const fields: FieldList = message.key === undefined ? [Fields.id, message.id] : [Fields.id, message.id, Fields.key, message.key];
  fields.push(Fields.headers, headersJson, Fields.body, Buffer.from(message.body));
  if (attempt !== undefined && attempt > 1) fields.push(Fields.attempt, String(attempt));
  return fields;
}

export interface StoredMessage {
  readonly message: TransportMessage;
  /** Attempt of the entry's first delivery (1 unless it is a redelivery entry). */
  readonly baseAttempt: number;
}

/** Where an entry was read: only Omnibus writes redelivery streams, so only there is `attempt` believed. */
export type EntrySource = 'topic' | 'redelivery';

/**
 * Read an entry's fields (as Buffers). An entry written by something else than Omnibus
 * is still delivered (id = entry id, no headers, empty body) so that the policy layer
 * dead-letters it instead of it being silently dropped.
 */
export function parseEntry(topic: string, entryId: string, raw: readonly Buffer[], source: EntrySource): StoredMessage {
  let id = entryId;
  let key: string | undefined;
  let headers: Record<string, string> = {};
  let body: Uint8Array = new Uint8Array(0);
  let baseAttempt = 1;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]?.toString('utf8');
    const value = raw[i + 1] as Buffer;
    switch (name) {
      case Fields.id:
        id = value.toString('utf8');
        break;
      case Fields.key:
        key = value.toString('utf8');
        break;
      case Fields.headers:
        headers = parseHeaders(value.toString('utf8'));
        break;
      case Fields.body:
        body = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        break;
      case Fields.attempt: {
        if (source !== 'redelivery') break;
        const n = Number(value.toString('utf8'));
        if (Number.isSafeInteger(n) && n >= 1) baseAttempt = n;
        break;
      }
      default:
        break;
    }
  }
  return { message: { id, topic, key, headers, body }, baseAttempt };
}

function parseHeaders(json: string): Record<string, string> {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    // Usually every value is a string: keep the parsed object then, copy only otherwise.
    const parsed = value as Record<string, unknown>;
    for (const name in parsed) {
      if (typeof parsed[name] !== 'string') {
        const out: Record<string, string> = {};
        for (const [key, v] of Object.entries(parsed)) if (typeof v === 'string') out[key] = v;
        return out;
      }
    }
    return parsed as Record<string, string>;
  } catch {
    return {};
  }
}

/** Random bytes of a scheduled entry's token (written as hex: twice as many characters). */
const SCHEDULED_TOKEN_BYTES = 8;

/**
 * A scheduled entry (member of the scheduled sorted set): netstring-like parts
 * `<byte length>:<bytes>` for [unique token, target stream key, field, value, ...].
 * The token keeps identical messages distinct in the set; the Lua scripts decode the rest.
 */
export function encodeScheduled(target: string, fields: FieldList): Buffer {
  const parts = [randomBytes(SCHEDULED_TOKEN_BYTES).toString('hex'), target, ...fields].map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part));
  const chunks: Buffer[] = [];
  for (const part of parts) chunks.push(Buffer.from(`${part.byteLength}:`, 'ascii'), part);
  return Buffer.concat(chunks);
}

/**
 * A glob (Redis MATCH) for the scheduled entries of one target stream: the token's length part
 * and hex characters, then the target's part, exactly as encodeScheduled writes them. Redis
 * compares bytes; the target's glob characters are escaped. Callers still check each match's
 * target exactly (the scripts' target_of).
 */
export function scheduledTargetPattern(target: string): string {
  const token = SCHEDULED_TOKEN_BYTES * 2;
  const escaped = target.replace(/[\\*?[\]]/g, (char) => `\\${char}`);
  return `${token}:${'?'.repeat(token)}${Buffer.byteLength(target, 'utf8')}:${escaped}*`;
}
