import type { ConsumeMessage, Options } from 'amqplib';
import {
  CloudEventsAmqpColonProperties as CloudEventsColonProperties,
  CloudEventsAmqpProperties as CloudEventsProperties,
  EnvelopeHeaders,
  type TransportMessage,
} from '@omnibus/core';
import { derivedMessageId } from './foreign-id.js';

/**
 * How a transport message travels as an AMQP message.
 *
 * - body → content, untouched; headers → the AMQP headers table, every value a UTF-8 long string,
 *   but core's CloudEvents envelope, which travels as the CloudEvents AMQP binding says (see
 *   CloudEventsProperties).
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
 * Where core's CloudEvents envelope goes: the CloudEvents AMQP protocol binding, binary content
 * mode (core's CloudEventsAmqpProperties, in the headers table; the data content type in the
 * `content-type` property; the data is the body). Written from 0.2.0 on; `cloudEvents:` is read too.
 */
export { CloudEventsProperties };

/**
 * How 0.1 (and earlier 0.2 builds) carried the envelope, still read during a rolling upgrade: core's
 * `ce-` names in the headers table, some moved to basic properties with the `app-id` property
 * listing which: `omnibus/` then one letter per header moved, `i` ce-id = message-id, `t` ce-type
 * = type, `c` content-type = content-type, `v` ce-specversion = `1.0`.
 */
const PROPS_MARKER = 'omnibus/';
const SPEC_VERSION = '1.0';

export interface EncodedMessage {
  readonly content: Buffer;
  readonly options: Options.Publish;
  readonly routingKey: string;
}

/**
 * Encode for publishing; `extra` are transport headers (attempt, delay bucket, token). User
 * headers pass as they are; one spelled like a binding attribute (core reserves `ce-`, not
 * `cloudEvents_`) gives way to the envelope's attribute when the message has it.
 */
export function encodeMessage(message: TransportMessage, extra?: Readonly<Record<string, string>>): EncodedMessage {
  const { id, key } = message;
  const source = message.headers;
  const headers: Record<string, string> = {};
  const options: Options.Publish = { persistent: true, headers };
  // The id in message-id too, for AMQP tools that show or deduplicate by it.
  if (fitsShortString(id)) options.messageId = id;
  else headers[TransportHeaders.id] = id;
  // One switch per header (this runs for every header of every message).
  for (const name in source) {
    const value = source[name] as string;
    switch (name) {
      case EnvelopeHeaders.id:
        headers[CloudEventsProperties.id] = value;
        break;
      case EnvelopeHeaders.source:
        headers[CloudEventsProperties.source] = value;
        break;
      case EnvelopeHeaders.type:
        headers[CloudEventsProperties.type] = value;
        break;
      case EnvelopeHeaders.time:
        headers[CloudEventsProperties.time] = value;
        break;
      case EnvelopeHeaders.specVersion:
        headers[CloudEventsProperties.specVersion] = value;
        break;
      case EnvelopeHeaders.contentType:
        // A short string property; a content type over 255 bytes stays in the table.
        if (fitsShortString(value)) options.contentType = value;
        else headers[name] = value;
        break;
      case CloudEventsProperties.id:
        if (source[EnvelopeHeaders.id] === undefined) headers[name] = value;
        break;
      case CloudEventsProperties.source:
        if (source[EnvelopeHeaders.source] === undefined) headers[name] = value;
        break;
      case CloudEventsProperties.type:
        if (source[EnvelopeHeaders.type] === undefined) headers[name] = value;
        break;
      case CloudEventsProperties.time:
        if (source[EnvelopeHeaders.time] === undefined) headers[name] = value;
        break;
      case CloudEventsProperties.specVersion:
        if (source[EnvelopeHeaders.specVersion] === undefined) headers[name] = value;
        break;
      default:
        headers[name] = value;
    }
  }
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
 * A message without `message-id` (another client published it) has its CloudEvents id, else
 * a stable one derived from its content (see derivedMessageId).
 *
 * The envelope is read in every form a publisher may have used, under core's names: the
 * binding's `cloudEvents_` and `cloudEvents:` application properties (0.2.0 on, and any
 * CloudEvents AMQP producer) and 0.1's `ce-` headers and `app-id` marker (a rolling upgrade).
 * Where one message has several, `cloudEvents_` wins over `cloudEvents:` over `ce-`. The
 * `content-type` property is the `content-type` header, for any message.
 */
export function decodeMessage(topic: string, raw: ConsumeMessage, origin: DeliveryOrigin): DecodedMessage {
  const { properties } = raw;
  const table = (properties.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {};
  let key: string | undefined;
  let carriedId: string | undefined;
  let carriedAttempt: string | undefined;
  let deliveryCount: unknown;
  // The envelope in three spellings, by precedence: `cloudEvents_` (set at once), `cloudEvents:`
  // and 0.1's `ce-` (kept aside, rare, and taken after the loop where nothing better came).
  let colon: Record<string, string> | undefined;
  let legacy: Record<string, string> | undefined;
  for (const name in table) {
    const value = table[name];
    switch (name) {
      case CloudEventsProperties.id:
        setText(headers, EnvelopeHeaders.id, value);
        continue;
      case CloudEventsProperties.source:
        setText(headers, EnvelopeHeaders.source, value);
        continue;
      case CloudEventsProperties.type:
        setText(headers, EnvelopeHeaders.type, value);
        continue;
      case CloudEventsProperties.time:
        setText(headers, EnvelopeHeaders.time, timeText(value));
        continue;
      case CloudEventsProperties.specVersion:
        setText(headers, EnvelopeHeaders.specVersion, value);
        continue;
      case CloudEventsColonProperties.id:
        setText((colon ??= {}), EnvelopeHeaders.id, value);
        continue;
      case CloudEventsColonProperties.source:
        setText((colon ??= {}), EnvelopeHeaders.source, value);
        continue;
      case CloudEventsColonProperties.type:
        setText((colon ??= {}), EnvelopeHeaders.type, value);
        continue;
      case CloudEventsColonProperties.time:
        setText((colon ??= {}), EnvelopeHeaders.time, timeText(value));
        continue;
      case CloudEventsColonProperties.specVersion:
        setText((colon ??= {}), EnvelopeHeaders.specVersion, value);
        continue;
      case EnvelopeHeaders.id:
      case EnvelopeHeaders.source:
      case EnvelopeHeaders.type:
      case EnvelopeHeaders.time:
      case EnvelopeHeaders.specVersion:
        setText((legacy ??= {}), name, value);
        continue;
    }
    if (isInternal(name)) {
      if (name === TransportHeaders.key) key = headerText(value);
      else if (name === TransportHeaders.id) carriedId = headerText(value);
      else if (name === TransportHeaders.attempt) carriedAttempt = headerText(value);
      else if (name === 'x-delivery-count') deliveryCount = value;
      continue;
    }
    setText(headers, name, value);
  }
  if (colon !== undefined) fillIn(headers, colon);
  if (legacy !== undefined) fillIn(headers, legacy);
  const messageId = properties.messageId as unknown;
  const contentType = properties.contentType as unknown;
  // The binding's datacontenttype, and what the property means to any AMQP message.
  if (typeof contentType === 'string') headers[EnvelopeHeaders.contentType] = contentType;
  const appId = properties.appId as unknown;
  if (typeof appId === 'string' && appId.startsWith(PROPS_MARKER)) fillIn(headers, legacyProperties(appId, messageId, properties.type as unknown, contentType));
  const content = raw.content;
  const id = carriedId || (typeof messageId === 'string' && messageId !== '' ? messageId : headers[EnvelopeHeaders.id] || derivedMessageId(properties, content));
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

/** Set `headers[name]` to the value as text, if it has one. */
function setText(headers: Record<string, string>, name: string, value: unknown): void {
  const text = typeof value === 'string' ? value : headerText(value);
  if (text !== undefined) headers[name] = text;
}

/** Copy the entries `headers` has no value for yet. */
function fillIn(headers: Record<string, string>, from: Readonly<Record<string, string>>): void {
  for (const name in from) if (headers[name] === undefined) headers[name] = from[name] as string;
}

/**
 * The binding's time may come as an AMQP timestamp, which AMQP 0-9-1 carries in seconds (and
 * amqplib reads as a number); as the canonical string otherwise.
 */
function timeText(value: unknown): unknown {
  if (typeof value !== 'number') return value;
  const time = new Date(value * 1_000);
  return Number.isNaN(time.getTime()) ? value : time.toISOString();
}

/** The envelope headers a 0.1 publisher moved to basic properties, as its `app-id` marker lists them. */
function legacyProperties(appId: string, messageId: unknown, type: unknown, contentType: unknown): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = PROPS_MARKER.length; i < appId.length; i++) {
    const flag = appId.charCodeAt(i);
    if (flag === 0x69 /* i */ && typeof messageId === 'string') headers[EnvelopeHeaders.id] = messageId;
    else if (flag === 0x74 /* t */ && typeof type === 'string') headers[EnvelopeHeaders.type] = type;
    else if (flag === 0x63 /* c */ && typeof contentType === 'string') headers[EnvelopeHeaders.contentType] = contentType;
    else if (flag === 0x76 /* v */) headers[EnvelopeHeaders.specVersion] = SPEC_VERSION;
  }
  return headers;
}

/** Header values we wrote are strings; values from other AMQP publishers are shown as text when they are scalars. */
function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
