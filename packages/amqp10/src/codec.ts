import { createHash } from 'node:crypto';
import rhea, { type Message } from 'rhea';
import {
  CloudEventsAmqpColonProperties as CloudEventsColonProperties,
  CloudEventsAmqpProperties as CloudEventsProperties,
  ConfigError,
  EnvelopeHeaders,
  assertHeaderValues,
  type OutgoingMessage,
  type TransportMessage,
} from '@omnibus/core';

/**
 * How a transport message travels as an AMQP 1.0 message.
 *
 * - body → one Data section, untouched (other AMQP clients read it as bytes).
 * - id → the `message-id` property; headers → application properties, every value a string, but
 *   core's CloudEvents envelope, which travels as the CloudEvents AMQP binding says (see
 *   CloudEventsProperties): `cloudEvents_` application properties and the `content-type` property.
 * - key → the `x-opt-omnibus-key` message annotation, present only when defined (so `undefined`
 *   and `''` stay distinct). Not the AMQP `group-id`: Artemis would pin each key to one consumer.
 * - attempt → `x-opt-omnibus-attempt` on a copy the transport sent to the group's queue itself
 *   (a delayed or rewritten nack); the broker's own `delivery-count` is added to it.
 * - delayMs → the `x-opt-delivery-time` annotation (Artemis' scheduled delivery, absolute ms).
 * - deduplicationId → `_AMQ_DUPL_ID`, Artemis' duplicate detection (with `amqpDuplicateDetection`
 *   on the acceptor, its default): a publisher's own retry of one message is stored once.
 *
 * Every message is durable (the header's `durable` flag): Artemis journals it before `accepted`.
 */
export const Annotations = {
  key: 'x-opt-omnibus-key',
  attempt: 'x-opt-omnibus-attempt',
  deliveryTime: 'x-opt-delivery-time',
} as const;

/** Artemis' duplicate-detection property (Message.HDR_DUPLICATE_DETECTION_ID). */
export const DUPLICATE_ID_PROPERTY = '_AMQ_DUPL_ID';

/**
 * Application property names Artemis interprets or writes itself: `_AMQ_*` (duplicate id, scheduled
 * time, group id, last-value key, ...) and the JMS-defined `JMSX*` (JMSXGroupID groups messages).
 */
export function reservedHeaderReason(name: string): string | undefined {
  const first = name.charCodeAt(0);
  // Fast path: only names starting with '_' or 'J'/'j' can be reserved.
  if (first !== 0x5f && (first | 0x20) !== 0x6a) return undefined;
  const upper = name.toUpperCase();
  if (upper.startsWith('_AMQ_')) return 'is interpreted by Artemis itself (_AMQ_ properties)';
  if (upper.startsWith('JMSX')) return 'is interpreted by Artemis itself (JMSX properties, e.g. JMSXGroupID)';
  return undefined;
}

/** Refuse what the broker would act on, and any non-string value, naming the header. */
export function checkHeaders(headers: Readonly<Record<string, unknown>>): void {
  for (const name in headers) {
    const reason = reservedHeaderReason(name);
    if (reason) throw new ConfigError(`headers.${name}`, `header name ${reason}`);
  }
  assertHeaderValues(headers);
}

export interface EncodeExtras {
  /** Absolute delivery time in ms since the epoch (scheduled delivery). */
  readonly deliverAt?: number | undefined;
  /** The attempt the copy is delivered as (a nack's copy). */
  readonly attempt?: number | undefined;
  /** Set on copies sent to a group's queue: the FQQN they were sent to (see decode). */
  readonly to?: string | undefined;
  /** Headers merged over the message's own (nack headers). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * Where core's CloudEvents envelope goes: the CloudEvents AMQP protocol binding, binary content
 * mode. Every attribute but the data content type is an application property named
 * `cloudEvents_<attribute>` (core's CloudEventsAmqpProperties, a canonical string); the data content type is the `content-type`
 * property; the data is the body. Written from 0.2.0 on; 0.1 wrote core's names (`ce-id`, …,
 * `content-type`) as application properties, which are still read.
 */
export { CloudEventsProperties };

/**
 * User headers pass as they are; one spelled like a binding attribute (core reserves `ce-`, not
 * `cloudEvents_`) gives way to the envelope's attribute when the message has it.
 */
export function encodeMessage(message: TransportMessage & Pick<OutgoingMessage, 'deduplicationId'>, extras: EncodeExtras = {}): Message {
  const source = extras.headers === undefined ? message.headers : { ...message.headers, ...extras.headers };
  const properties: Record<string, string> = {};
  let contentType: string | undefined;
  // One switch per header (this runs for every header of every message).
  for (const name in source) {
    const value = source[name] as string;
    switch (name) {
      case EnvelopeHeaders.id:
        properties[CloudEventsProperties.id] = value;
        break;
      case EnvelopeHeaders.source:
        properties[CloudEventsProperties.source] = value;
        break;
      case EnvelopeHeaders.type:
        properties[CloudEventsProperties.type] = value;
        break;
      case EnvelopeHeaders.time:
        properties[CloudEventsProperties.time] = value;
        break;
      case EnvelopeHeaders.specVersion:
        properties[CloudEventsProperties.specVersion] = value;
        break;
      case EnvelopeHeaders.contentType:
        contentType = value;
        break;
      case CloudEventsProperties.id:
        if (source[EnvelopeHeaders.id] === undefined) properties[name] = value;
        break;
      case CloudEventsProperties.source:
        if (source[EnvelopeHeaders.source] === undefined) properties[name] = value;
        break;
      case CloudEventsProperties.type:
        if (source[EnvelopeHeaders.type] === undefined) properties[name] = value;
        break;
      case CloudEventsProperties.time:
        if (source[EnvelopeHeaders.time] === undefined) properties[name] = value;
        break;
      case CloudEventsProperties.specVersion:
        if (source[EnvelopeHeaders.specVersion] === undefined) properties[name] = value;
        break;
      default:
        properties[name] = value;
    }
  }
  if (message.deduplicationId !== undefined) properties[DUPLICATE_ID_PROPERTY] = message.deduplicationId;
  const annotations: Record<string, string | number> = {};
  if (message.key !== undefined) annotations[Annotations.key] = message.key;
  if (extras.attempt !== undefined) annotations[Annotations.attempt] = extras.attempt;
  if (extras.deliverAt !== undefined) annotations[Annotations.deliveryTime] = extras.deliverAt;
  const { body } = message;
  const out: Message = {
    message_id: message.id,
    durable: true,
    application_properties: properties,
    body: rhea.message.data_section(Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as unknown,
  };
  if (contentType !== undefined) out.content_type = contentType;
  if (extras.to !== undefined) out.to = extras.to;
  if (Object.keys(annotations).length > 0) out.message_annotations = annotations;
  return out;
}

export interface DecodedMessage {
  readonly message: TransportMessage;
  readonly attempt: number;
}

/**
 * Decode a delivery from the queue whose fully-qualified name is `fqqn`. Attempt = the carried
 * `x-opt-omnibus-attempt` (1 if absent) plus the broker's `delivery-count` (earlier failed
 * deliveries of this copy, counted by Artemis on Modified{delivery-failed} and on a consumer lost
 * with the delivery unsettled). The carried attempt is believed only on a copy addressed (`to`) to
 * this very queue, which is what the transport's nack sends; a message published to the topic
 * cannot set it.
 *
 * The envelope is read in every form a publisher may have used, under core's names: the
 * binding's `cloudEvents_` and `cloudEvents:` application properties (0.2.0 on, and any
 * CloudEvents AMQP producer) and 0.1's `ce-` and `content-type` application properties (a
 * rolling upgrade). Where one message has several, `cloudEvents_` wins over `cloudEvents:` over
 * `ce-`, and the `content-type` property over the application property. An AMQP timestamp
 * (`cloudEvents_time` in the binding's native form) reads as its ISO time.
 */
export function decodeMessage(topic: string, fqqn: string, raw: Message): DecodedMessage {
  const headers: Record<string, string> = {};
  const props = (raw.application_properties ?? {}) as Record<string, unknown>;
  // The envelope in three spellings, by precedence: `cloudEvents_` (set at once), `cloudEvents:`
  // and 0.1's `ce-` (kept aside, rare, and taken after the loop where nothing better came).
  let colon: Record<string, string> | undefined;
  let legacy: Record<string, string> | undefined;
  for (const name in props) {
    const value = props[name];
    switch (name) {
      case DUPLICATE_ID_PROPERTY:
        break;
      case CloudEventsProperties.id:
        setText(headers, EnvelopeHeaders.id, value);
        break;
      case CloudEventsProperties.source:
        setText(headers, EnvelopeHeaders.source, value);
        break;
      case CloudEventsProperties.type:
        setText(headers, EnvelopeHeaders.type, value);
        break;
      case CloudEventsProperties.time:
        setText(headers, EnvelopeHeaders.time, value);
        break;
      case CloudEventsProperties.specVersion:
        setText(headers, EnvelopeHeaders.specVersion, value);
        break;
      case CloudEventsColonProperties.id:
        setText((colon ??= {}), EnvelopeHeaders.id, value);
        break;
      case CloudEventsColonProperties.source:
        setText((colon ??= {}), EnvelopeHeaders.source, value);
        break;
      case CloudEventsColonProperties.type:
        setText((colon ??= {}), EnvelopeHeaders.type, value);
        break;
      case CloudEventsColonProperties.time:
        setText((colon ??= {}), EnvelopeHeaders.time, value);
        break;
      case CloudEventsColonProperties.specVersion:
        setText((colon ??= {}), EnvelopeHeaders.specVersion, value);
        break;
      case EnvelopeHeaders.id:
      case EnvelopeHeaders.source:
      case EnvelopeHeaders.type:
      case EnvelopeHeaders.time:
      case EnvelopeHeaders.specVersion:
      case EnvelopeHeaders.contentType:
        setText((legacy ??= {}), name, value);
        break;
      default:
        setText(headers, name, value);
    }
  }
  // The binding's datacontenttype, and what the property means to any AMQP message.
  const contentType = raw.content_type as unknown;
  if (typeof contentType === 'string') headers[EnvelopeHeaders.contentType] = contentType;
  if (colon !== undefined) fillIn(headers, colon);
  if (legacy !== undefined) fillIn(headers, legacy);
  const annotations = (raw.message_annotations ?? {}) as Record<string, unknown>;
  const keyValue = annotations[Annotations.key];
  const key = keyValue === undefined || keyValue === null ? undefined : scalarText(keyValue);
  const body = bodyBytes(raw.body);
  let base = 1;
  if (raw.to === fqqn) {
    const carried = Number(annotations[Annotations.attempt]);
    if (Number.isSafeInteger(carried) && carried >= 1) base = carried;
  }
  const count = Number(raw.delivery_count ?? 0);
  const earlier = Number.isSafeInteger(count) && count > 0 ? count : 0;
  const idValue = raw.message_id === undefined || raw.message_id === null ? undefined : scalarText(raw.message_id);
  // Another client's message without message-id: its CloudEvents id, else one derived from its content.
  const id = idValue || headers[EnvelopeHeaders.id] || derivedId(body, props);
  return { message: { id, topic, key, headers, body }, attempt: base + earlier };
}

/** Body bytes: a Data section (ours), several of them, a binary value, or a string value (other clients). */
function bodyBytes(body: unknown): Uint8Array {
  const content = (body as { typecode?: unknown; content?: unknown } | undefined)?.typecode === 0x75 ? (body as { content: unknown }).content : body;
  if (Buffer.isBuffer(content)) return new Uint8Array(content.buffer, content.byteOffset, content.byteLength);
  if (Array.isArray(content) && content.every((part) => Buffer.isBuffer(part))) return new Uint8Array(Buffer.concat(content));
  if (typeof content === 'string') return new Uint8Array(Buffer.from(content, 'utf8'));
  if (content === undefined || content === null) return new Uint8Array(0);
  return new Uint8Array(Buffer.from(JSON.stringify(content) ?? '', 'utf8'));
}

/**
 * A stable id for a message another client sent without `message-id`: the same message, the same
 * id. Hashed over the application properties as they came (as text, but the duplicate id), not the
 * decoded headers, so it stays what 0.1 derived for the same message whatever the decoding renames.
 */
function derivedId(body: Uint8Array, props: Readonly<Record<string, unknown>>): string {
  const asText: Record<string, string> = {};
  for (const name in props) {
    if (name === DUPLICATE_ID_PROPERTY) continue;
    const text = scalarText(props[name]);
    if (text !== undefined) asText[name] = text;
  }
  const hash = createHash('sha256').update(body).update(JSON.stringify(asText)).digest('hex');
  return `amqp10-${hash.slice(0, 32)}`;
}

/** Set `headers[name]` to the value as text, if it has one. */
function setText(headers: Record<string, string>, name: string, value: unknown): void {
  const text = scalarText(value);
  if (text !== undefined) headers[name] = text;
}

/** Copy the entries `headers` has no value for yet. */
function fillIn(headers: Record<string, string>, from: Readonly<Record<string, string>>): void {
  for (const name in from) if (headers[name] === undefined) headers[name] = from[name] as string;
}

/** Property values we wrote are strings; other clients' scalars are shown as text. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return undefined;
}
