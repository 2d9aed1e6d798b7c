import type { OutgoingMessage } from './transport.js';

/**
 * The size core measures a message by, and transports declare `maxMessageBytes` in:
 * UTF-8 bytes of the body, the key, and every header name and value. A transport's own
 * framing (per-header overhead, its own headers) is its to subtract from the broker's limit.
 */
export function messageBytes(message: Pick<OutgoingMessage, 'body' | 'key' | 'headers'>): number {
  let bytes = message.body.byteLength;
  if (message.key !== undefined) bytes += Buffer.byteLength(message.key);
  const headers = message.headers;
  for (const name in headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(headers[name] as string);
  return bytes;
}

/**
 * `messageBytes(message)` when it is over `limit`, else undefined. Runs for every published
 * message: a UTF-16 unit is at most 3 UTF-8 bytes, so most messages are cleared by their
 * lengths alone, without encoding a header.
 */
export function messageBytesOver(message: Pick<OutgoingMessage, 'body' | 'key' | 'headers'>, limit: number): number | undefined {
  let upper = message.body.byteLength + (message.key?.length ?? 0) * 3;
  const headers = message.headers;
  for (const name in headers) upper += (name.length + (headers[name] as string).length) * 3;
  if (upper <= limit) return undefined;
  const bytes = messageBytes(message);
  return bytes > limit ? bytes : undefined;
}
