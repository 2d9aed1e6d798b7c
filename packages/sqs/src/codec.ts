import { EnvelopeHeaders, type TransportMessage } from '@omnibus/core';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/**
 * How a message travels in SQS. SQS allows 10 message attributes and a text body, so:
 * - the CloudEvents envelope headers each get an attribute of their own, named as the header
 *   (`ce-id`, `ce-source`, `ce-type`, `ce-time`, `ce-specversion`, `content-type`), readable by
 *   any SQS consumer;
 * - every other header (the user's, core's retry and dead-letter headers) is packed into one
 *   attribute, `omnibus-headers`, a JSON object (also an envelope header whose value is empty:
 *   SQS refuses empty attribute values);
 * - the key is `omnibus-key`;
 * - `omnibus-sqs` holds the transport's own bookkeeping, only when there is some: the body's
 *   encoding when it is not text, the message id when it is not the `ce-id` header, the attempt a re-sent copy starts at, the due time of a delay
 *   longer than SQS holds.
 * That is at most 9 attributes. The body is sent as text when it is UTF-8 that SQS accepts in a
 * message body (JSON is), else base64 (`"b":"base64"`); an empty body is `"b":"empty"` (SQS
 * needs a non-empty body).
 */
export const Attributes = {
  headers: 'omnibus-headers',
  key: 'omnibus-key',
  state: 'omnibus-sqs',
} as const;

/** The envelope headers with attributes of their own (firstFailureAt is core's bookkeeping: packed). */
const OWN_ATTRIBUTE: ReadonlySet<string> = new Set([
  EnvelopeHeaders.id,
  EnvelopeHeaders.source,
  EnvelopeHeaders.type,
  EnvelopeHeaders.time,
  EnvelopeHeaders.specVersion,
  EnvelopeHeaders.contentType,
]);

/** The transport's bookkeeping of one SQS message (`omnibus-sqs`). */
export interface SqsState {
  /** Body encoding when not text. */
  readonly b?: 'base64' | 'empty';
  /** The attempt of this copy's first receive (a re-sent retry); 1 when absent. */
  readonly a?: number;
  /** The message id, when it is not the `ce-id` header (a message published without the envelope). */
  readonly i?: string;
  /** Epoch ms before which the message is not handed over (a delay beyond 15 minutes, in hops). */
  readonly d?: number;
}

export interface EncodedMessage {
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** What SQS counts against its size limit: the body and each attribute's name, type and value, in bytes. */
  readonly bytes: number;
}

/** Characters SQS refuses in a message body (XML 1.0's excluded ones; lone surrogates are caught by the UTF-8 check). */
const NOT_IN_BODY = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function textOf(body: Uint8Array): string | undefined {
  try {
    const text = utf8.decode(body);
    return NOT_IN_BODY.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

export function encodeMessage(message: TransportMessage, extra: { readonly attempt?: number; readonly dueAt?: number } = {}): EncodedMessage {
  const attributes: Record<string, MessageAttributeValue> = {};
  const packed: Record<string, string> = {};
  let bytes = 0;
  const put = (name: string, value: string) => {
    attributes[name] = { DataType: 'String', StringValue: value };
    bytes += Buffer.byteLength(name) + 6 + Buffer.byteLength(value);
  };
  for (const name in message.headers) {
    const value = message.headers[name] as string;
    if (OWN_ATTRIBUTE.has(name) && value !== '') put(name, value);
    else packed[name] = value;
  }
  if (Object.keys(packed).length > 0) put(Attributes.headers, JSON.stringify(packed));
  if (message.key !== undefined) {
    // JSON-quoted: SQS refuses an empty attribute value, and '' is a key.
    put(Attributes.key, JSON.stringify(message.key));
  }
  let body: string;
  const state: { b?: SqsState['b']; a?: number; i?: string; d?: number } = {};
  if (message.headers[EnvelopeHeaders.id] !== message.id) state.i = message.id;
  if (message.body.byteLength === 0) {
    body = '-';
    state.b = 'empty';
  } else {
    const text = textOf(message.body);
    if (text === undefined) {
      body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('base64');
      state.b = 'base64';
    } else {
      body = text;
    }
  }
  if (extra.attempt !== undefined && extra.attempt > 1) state.a = extra.attempt;
  if (extra.dueAt !== undefined) state.d = extra.dueAt;
  if (Object.keys(state).length > 0) put(Attributes.state, JSON.stringify(state));
  bytes += Buffer.byteLength(body);
  return { body, attributes, bytes };
}

export interface DecodedMessage {
  readonly message: TransportMessage;
  readonly state: SqsState;
}

/** A received SQS message back into what was published (a foreign message: its body as text, attributes as headers). */
export function decodeMessage(topic: string, received: Message): DecodedMessage {
  const attributes = received.MessageAttributes ?? {};
  const headers: Record<string, string> = {};
  let key: string | undefined;
  let state: SqsState = {};
  for (const name in attributes) {
    const value = attributes[name]?.StringValue;
    if (value === undefined) continue;
    if (name === Attributes.headers) {
      for (const [header, item] of Object.entries(parseObject(value))) if (typeof item === 'string') headers[header] = item;
    }
    else if (name === Attributes.key) key = parseString(value);
    else if (name === Attributes.state) state = parseObject(value);
    else headers[name] = value;
  }
  const text = received.Body ?? '';
  const body = state.b === 'empty' ? new Uint8Array(0) : state.b === 'base64' ? new Uint8Array(Buffer.from(text, 'base64')) : new Uint8Array(Buffer.from(text, 'utf8'));
  const id = typeof state.i === 'string' ? state.i : (headers[EnvelopeHeaders.id] ?? received.MessageId ?? '');
  return { message: { id, topic, key, headers, body }, state };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const out: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) if (typeof item === 'string' || typeof item === 'number') out[name] = item;
    return out;
  } catch {
    return {};
  }
}

function parseString(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'string' ? value : text;
  } catch {
    return text;
  }
}
