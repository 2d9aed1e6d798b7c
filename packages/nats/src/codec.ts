import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { OutgoingMessage, TransportMessage } from '@omnibus/core';

/**
 * TransportMessage <-> NATS message. NATS headers are `Key: value` lines: keys are
 * printable ASCII without ":", values cannot hold CR/LF and lose surrounding
 * whitespace. Omnibus headers are arbitrary strings, so:
 *
 * - a value that is not plain printable ASCII without surrounding spaces (or that
 *   starts with the marker) travels as `=?b64?<base64 of UTF-8>`; others travel as is,
 *   so ordinary headers stay readable in `nats` CLI output;
 * - a key that is not a valid NATS header name, or that starts with `Nats-` (the
 *   server acts on those) or our own `Omnibus-Nats-` prefix, travels hex-encoded
 *   under `Omnibus-Nats-H-<hex of UTF-8>`.
 *
 * The server deduplicates on `Nats-Msg-Id` (see publisher.ts for what it holds). The
 * message id travels in `Omnibus-Nats-Id`, or, when the two are the same (a user's
 * publish, the common case), only in `Nats-Msg-Id`, which saves a header. The key is
 * `Omnibus-Nats-Key` (absent when the key is undefined).
 */
export const MSG_ID = 'Nats-Msg-Id';
export const ID_HEADER = 'Omnibus-Nats-Id';
export const KEY_HEADER = 'Omnibus-Nats-Key';
/** The server refuses a publish whose subject is not captured by this stream. */
export const EXPECTED_STREAM = 'Nats-Expected-Stream';
/** Epoch milliseconds at which a delayed message is due (delay stream only). */
export const DUE_HEADER = 'Omnibus-Nats-Due';

const VALUE_MARKER = '=?b64?';
const ESCAPED_KEY = 'Omnibus-Nats-H-';
const RESERVED_KEY = /^(nats-|omnibus-nats-)/i;
const VALID_KEY = /^[\x21-\x39\x3b-\x7e]+$/;
const PLAIN_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !value.startsWith(VALUE_MARKER)) return value;
  return VALUE_MARKER + Buffer.from(value, 'utf8').toString('base64');
}

/** Lenient: a value that is not ours (published by another client) is returned as is. */
export function decodeValue(value: string): string {
  if (!value.startsWith(VALUE_MARKER)) return value;
  const payload = value.slice(VALUE_MARKER.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) return value;
  return Buffer.from(payload, 'base64').toString('utf8');
}

export function encodeKey(key: string): string {
  if (VALID_KEY.test(key) && !RESERVED_KEY.test(key)) return key;
  return ESCAPED_KEY + Buffer.from(key, 'utf8').toString('hex');
}

function decodeKey(key: string): string | undefined {
  if (key.slice(0, ESCAPED_KEY.length).toLowerCase() === ESCAPED_KEY.toLowerCase()) {
    const hex = key.slice(ESCAPED_KEY.length);
    if (/^(?:[0-9a-fA-F]{2})*$/.test(hex)) return Buffer.from(hex, 'hex').toString('utf8');
  }
  // Headers the server or this transport own are not the message's headers.
  if (RESERVED_KEY.test(key)) return undefined;
  return key;
}

/** The NATS headers of an outgoing message (the id is set by the publisher as `Nats-Msg-Id`). */
export function encodeHeaders(message: OutgoingMessage | TransportMessage): MsgHdrs {
  const out = natsHeaders();
  for (const [key, value] of Object.entries(message.headers)) out.append(encodeKey(key), encodeValue(value));
  if (message.key !== undefined) out.append(KEY_HEADER, encodeValue(message.key));
  return out;
}

/** The header value of an id (encoded like any value, so any string deduplicates and round-trips). */
export function encodeId(id: string): string {
  return encodeValue(id);
}

/** Bytes of a NATS header block holding these (already encoded, so ASCII) names and values. */
export function headerBlockBytes(headers: MsgHdrs): number {
  // `NATS/1.0\r\n`, then `name: value\r\n` per value, then `\r\n`.
  let bytes = 12;
  for (const [name, values] of headers) for (const value of values) bytes += name.length + value.length + 4;
  return bytes;
}

/** Rebuild the TransportMessage of a delivered message. */
export function decodeMessage(topic: string, headers: MsgHdrs | undefined, data: Uint8Array, fallbackId: string): TransportMessage {
  const out: Record<string, string> = {};
  let id: string | undefined;
  let msgId: string | undefined;
  let key: string | undefined;
  if (headers) {
    // Iterated, not keys() + get(): get() lists every key again (quadratic per message).
    for (const [name, values] of headers) {
      const raw = values[0] ?? '';
      if (name === ID_HEADER) id = decodeValue(raw);
      else if (name === MSG_ID) msgId = decodeValue(raw);
      else if (name === KEY_HEADER) key = decodeValue(raw);
      else {
        const decoded = decodeKey(name);
        if (decoded !== undefined) out[decoded] = decodeValue(raw);
      }
    }
  }
  // Copy: the client may reuse its read buffer.
  return { id: id ?? msgId ?? fallbackId, topic, key, headers: out, body: data.slice() };
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
