import { createHash } from 'node:crypto';
import rhea, { type Message } from 'rhea';
import { ConfigError, assertHeaderValues, type OutgoingMessage, type TransportMessage } from '@omnibus/core';

/**
 * How a transport message travels as an AMQP 1.0 message.
 *
 * - body → one Data section, untouched (other AMQP clients read it as bytes).
 * - id → the `message-id` property; headers → application properties, every value a string.
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

export function encodeMessage(message: TransportMessage & Pick<OutgoingMessage, 'deduplicationId'>, extras: EncodeExtras = {}): Message {
  const properties: Record<string, string> = { ...message.headers, ...extras.headers };
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
 */
export function decodeMessage(topic: string, fqqn: string, raw: Message): DecodedMessage {
  const headers: Record<string, string> = {};
  const props = (raw.application_properties ?? {}) as Record<string, unknown>;
  for (const name in props) {
    if (name === DUPLICATE_ID_PROPERTY) continue;
    const text = scalarText(props[name]);
    if (text !== undefined) headers[name] = text;
  }
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
  const id = idValue || derivedId(body, headers);
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

/** A stable id for a message another client sent without `message-id`: the same message, the same id. */
function derivedId(body: Uint8Array, headers: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256').update(body).update(JSON.stringify(headers)).digest('hex');
  return `amqp10-${hash.slice(0, 32)}`;
}

/** Property values we wrote are strings; other clients' scalars are shown as text. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return undefined;
}
