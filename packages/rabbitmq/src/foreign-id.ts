import { createHash } from 'node:crypto';
import type { MessageProperties } from 'amqplib';

/** Derived ids start with this, so they are recognisable (and never mistaken for a publisher's id). */
export const DERIVED_ID_PREFIX = 'amqp-sha256:';

/**
 * Headers the broker or the transport add or change while a message is redelivered or moved
 * (dead-lettering, quorum delivery count, retry attempt, routing): left out of the digest, so
 * redeliveries of one message keep one id.
 */
const VOLATILE_HEADERS = new Set(['x-death', 'x-delivery-count', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason', 'x-omnibus-attempt', 'x-omnibus-token', 'omnibus-rabbitmq-delay']);
/** `expiration` is removed by dead-lettering; `messageId` is absent by definition; headers are digested apart. */
const VOLATILE_PROPERTIES = new Set(['headers', 'messageId', 'expiration']);

/**
 * A stable id for a message another AMQP client published without a `message-id`: the SHA-256
 * of its properties, its headers (names sorted, so a re-encoded table gives the same digest)
 * and its body, as `amqp-sha256:<base64url>`. Every redelivery of the message gets the same
 * id; two messages identical in properties, headers and body get the same id too (set a
 * `message-id` or a `timestamp` to tell such twins apart).
 */
export function derivedMessageId(properties: MessageProperties, content: Buffer): string {
  const hash = createHash('sha256');
  const names = Object.keys(properties)
    .filter((name) => !VOLATILE_PROPERTIES.has(name) && (properties as unknown as Record<string, unknown>)[name] !== undefined)
    .sort();
  for (const name of names) hash.update(`p${JSON.stringify(name)}=${canonical((properties as unknown as Record<string, unknown>)[name])};`);
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(headers).sort()) {
    if (!VOLATILE_HEADERS.has(name)) hash.update(`h${JSON.stringify(name)}=${canonical(headers[name])};`);
  }
  hash.update('b');
  hash.update(content);
  return DERIVED_ID_PREFIX + hash.digest('base64url');
}

/** One text per value, whatever AMQP type amqplib decoded it to (nested tables and arrays included). */
function canonical(value: unknown): string {
  if (value === null || value === undefined) return 'u';
  if (typeof value === 'string') return `s${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${(typeof value).charAt(0)}${String(value)}`;
  if (Buffer.isBuffer(value)) return `x${value.toString('hex')}`;
  if (value instanceof Date) return `d${value.getTime()}`;
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object') {
    const table = value as Record<string, unknown>;
    return `{${Object.keys(table)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(table[key])}`)
      .join(',')}}`;
  }
  // Any other value (a symbol, a function, a class instance): what String() makes of it.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return `?${String(value)}`;
}
