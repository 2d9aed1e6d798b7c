import type { ConsumeMessage, Options } from 'amqplib';
import { EnvelopeHeaders, type TransportMessage } from '@omnibus/core';
import { derivedMessageId } from './foreign-id.js';

/**
 * How a transport message travels as an AMQP message.
 *
 * - body → content, untouched; headers → the AMQP headers table, every value a UTF-8 long string.
 * - id → the `message-id` property (a short string), or the `x-omnibus-id` header when it is
 *   longer than 255 bytes.
 * - key → the `x-omnibus-key` header, present only when the key is defined (so `undefined`
 *   and `''` stay distinct); it is also the routing key when it fits, for other AMQP readers.
 * - attempt → `x-omnibus-attempt` on a copy the transport republished (nack); absent means 1.
 *
 * Messages are persistent (delivery mode 2).
 */
export const TransportHeaders = {
  id: 'x-omnibus-id',
  key: 'x-omnibus-key',
  attempt: 'x-omnibus-attempt',
  /** Matches a returned (unroutable) mandatory message to its pending publish. */
  token: 'x-omnibus-token',
  /** Routes a message in the delay headers exchange to its bucket queue (headers exchanges ignore `x-` names). */
  delayBucket: 'omnibus-rabbitmq-delay',
} as const;

/** Headers RabbitMQ itself adds (dead-lettering, quorum delivery count) or interprets (CC/BCC routing). */
const BROKER_HEADERS = new Set(['x-death', 'x-delivery-count', 'CC', 'BCC']);
const BROKER_HEADER_PREFIXES = ['x-first-death-', 'x-last-death-'];
const TRANSPORT_HEADERS = new Set<string>(Object.values(TransportHeaders));

/** Header names a publisher may not use: the transport's own and the broker's. */
export function reservedHeaderReason(name: string): string | undefined {
  // Fast path for ordinary names (ce-*, content-type, traceparent, …): none of the checks below applies.
  const first = name.charCodeAt(0);
  if (first !== 0x78 && first !== 0x6f && first !== 0x43 && first !== 0x42 && name.length <= 85) return undefined;
  if (TRANSPORT_HEADERS.has(name) || name.startsWith('x-omnibus-') || name.startsWith('omnibus-rabbitmq-')) {
    return 'is reserved by the rabbitmq transport';
  }
  if (BROKER_HEADERS.has(name) || BROKER_HEADER_PREFIXES.some((p) => name.startsWith(p))) return 'is set or interpreted by RabbitMQ itself';
  if (Buffer.byteLength(name) > 255) return 'is longer than 255 bytes (an AMQP table key is a short string)';
  return undefined;
}

/** Cheap first test: every internal name starts with `x-`, `omnibus-rabbitmq-`, `CC` or `BCC`. */
const isInternal = (name: string): boolean => {
  const first = name.charCodeAt(0);
  // 'x', 'o', 'C', 'B'
  if (first !== 0x78 && first !== 0x6f && first !== 0x43 && first !== 0x42) return false;
  return TRANSPORT_HEADERS.has(name) || BROKER_HEADERS.has(name) || BROKER_HEADER_PREFIXES.some((p) => name.startsWith(p));
};

/** Short-string properties hold at most 255 bytes; a UTF-16 length of at most 85 always fits. */
const fitsShortString = (value: string): boolean => value.length <= 85 || Buffer.byteLength(value) <= 255;

/**
 * Envelope headers carried in AMQP basic properties instead of the headers table (encoding a
 * table entry costs amqplib far more than a property). The `app-id` property lists which ones,
 * so a delivery gets back exactly the headers that were published:
 * `omnibus/` followed by one letter per header moved: `i` ce-id = message-id, `t` ce-type = type,
 * `c` content-type = content-type, `v` ce-specversion = `1.0`. Messages without that marker
 * (older publishers, other AMQP clients) are read from the table only, as before.
 */
const PROPS_MARKER = 'omnibus/';
const SPEC_VERSION = '1.0';

export interface EncodedMessage {
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly routingKey: string;
}

/** Encode for publishing; `extra` are transport headers (attempt, delay bucket, token). */
export function encodeMessage(message: TransportMessage, extra?: Readonly<Record<string, string>>): EncodedMessage {
  const { id, key } = message;
  const source = message.headers;
  const headers: Record<string, string> = {};
  const options: Options.Publish = { persistent: true, headers };
  let flags = '';
  const idInProperty = fitsShortString(id);
  if (idInProperty) options.messageId = id;
  else headers[TransportHeaders.id] = id;
  for (const name in source) {
    const value = source[name] as string;
    if (name === EnvelopeHeaders.id) {
      if (idInProperty && value === id) {
        flags += 'i';
        continue;
      }
    } else if (name === EnvelopeHeaders.type) {
      if (typeof value === 'string' && fitsShortString(value)) {
        options.type = value;
        flags += 't';
        continue;
      }
    } else if (name === EnvelopeHeaders.contentType) {
      if (typeof value === 'string' && fitsShortString(value)) {
        options.contentType = value;
        flags += 'c';
        continue;
      }
    } else if (name === EnvelopeHeaders.specVersion) {
      if (value === SPEC_VERSION) {
        flags += 'v';
        continue;
      }
    }
    headers[name] = value;
  }
  if (flags !== '') options.appId = PROPS_MARKER + flags;
  if (extra) for (const name in extra) headers[name] = extra[name] as string;
  if (key !== undefined) headers[TransportHeaders.key] = key;
  // A view, not a copy: a batch is not held twice in memory. amqplib copies it into frames as
  // it sends, and the view is dropped once confirmed (the caller must not mutate it before).
  const { body } = message;
  const content = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const routingKey = key !== undefined && fitsShortString(key) ? key : '';
  return { content, options, routingKey };
}

export interface DecodedMessage {
  readonly message: TransportMessage;
  readonly attempt: number;
}

/** Where a delivery was consumed, so the decoder can tell Omnibus' own redelivery copies from anything else. */
export interface DeliveryOrigin {
  /** The group queue consumed. */
  readonly queue: string;
  /** The router exchange: a delayed retry copy arrives from it with the key `retryRoutingKey`. */
  readonly routerExchange: string;
  /** `q:<queue>`, the router key of this queue's delayed retries. */
  readonly retryRoutingKey: string;
  /** Quorum queues count deliveries themselves (`x-delivery-count`); classic queues do not. */
  readonly brokerCountsDeliveries: boolean;
}

/**
 * Decode a delivery of `topic`. Attempt = the carried `x-omnibus-attempt` (1 if absent) plus
 * the broker's count of earlier failed deliveries of this copy.
 *
 * Neither header can be spoofed by a foreign producer publishing to the topic:
 * - `x-omnibus-attempt` is believed only on Omnibus' redelivery copies, which never go through
 *   the topic exchange: published to this queue directly (default exchange, routing key = the
 *   queue) or through the router with this queue's `q:` key. On anything that came through the
 *   topic exchange it is ignored.
 * - `x-delivery-count` is believed only on a quorum queue and only on a redelivery: there the
 *   broker wrote it. A first delivery has had no earlier delivery, whatever a header says.
 *   Classic queues only flag a redelivery, counted as one more attempt.
 *
 * A message without an id (another client published it without `message-id`) gets a stable
 * one derived from its content (see derivedMessageId).
 */
export function decodeMessage(topic: string, raw: ConsumeMessage, origin: DeliveryOrigin): DecodedMessage {
  const { properties } = raw;
  const table = (properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {};
  const messageId = properties.messageId as unknown;
  const appId = properties.appId as unknown;
  if (typeof appId === 'string' && appId.startsWith(PROPS_MARKER)) {
    for (let i = PROPS_MARKER.length; i < appId.length; i++) {
      const flag = appId.charCodeAt(i);
      if (flag === 0x69 /* i */ && typeof messageId === 'string') headers[EnvelopeHeaders.id] = messageId;
      else if (flag === 0x74 /* t */ && typeof properties.type === 'string') headers[EnvelopeHeaders.type] = properties.type;
      else if (flag === 0x63 /* c */ && typeof properties.contentType === 'string') headers[EnvelopeHeaders.contentType] = properties.contentType;
      else if (flag === 0x76 /* v */) headers[EnvelopeHeaders.specVersion] = SPEC_VERSION;
    }
  }
  let key: string | undefined;
  let carriedId: string | undefined;
  let carriedAttempt: string | undefined;
  let deliveryCount: unknown;
  for (const name in table) {
    const value = table[name];
    if (isInternal(name)) {
      if (name === TransportHeaders.key) key = headerText(value);
      else if (name === TransportHeaders.id) carriedId = headerText(value);
      else if (name === TransportHeaders.attempt) carriedAttempt = headerText(value);
      else if (name === 'x-delivery-count') deliveryCount = value;
      continue;
    }
    const text = typeof value === 'string' ? value : headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  const content = raw.content;
  const id = carriedId || (typeof messageId === 'string' && messageId !== '' ? messageId : derivedMessageId(properties, content));
  const { fields } = raw;
  let base = 1;
  const isRetryCopy = (fields.exchange === '' && fields.routingKey === origin.queue) || (fields.exchange === origin.routerExchange && fields.routingKey === origin.retryRoutingKey);
  if (carriedAttempt !== undefined && isRetryCopy) {
    const carried = Number.parseInt(carriedAttempt, 10);
    if (Number.isSafeInteger(carried) && carried >= 1) base = carried;
  }
  let earlier = 0;
  if (fields.redelivered) {
    const count = origin.brokerCountsDeliveries && deliveryCount !== undefined ? Number(deliveryCount) : 0;
    earlier = Number.isSafeInteger(count) && count > 0 ? count : 1;
  }
  return {
    message: { id, topic, key, headers, body: new Uint8Array(content.buffer, content.byteOffset, content.byteLength) },
    attempt: base + earlier,
  };
}

/** Header values we wrote are strings; values from other AMQP publishers are shown as text when they are scalars. */
function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
