import { messageBytes, type OutgoingMessage } from '@omnibus/core';

/**
 * `maxMessageBytes`: what the transport accepts, in core's measure (UTF-8 bytes of the body,
 * the key and every header name and value; see messageBytes in core).
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Redis' default `proto-max-bulk-len`: the largest single argument of a command it takes. */
export const DEFAULT_ARGUMENT_LIMIT = 512 * 1024 * 1024;

/**
 * The largest argument a message of MAX_MESSAGE_BYTES can become, which is a scheduled entry
 * (delayed publish, delayed nack): one argument holding the body, key, id, target key and the
 * headers as JSON. JSON escaping turns a byte of header text into at most 6 (`\u0001`), and
 * adds 6 per header (quotes, colon, comma); with n headers taking at least n - 1 bytes of
 * names, the headers' JSON is at most 12 times their size. 64 KiB more cover the id, target
 * key and framing of any ordinary message. So a Redis with at least this `proto-max-bulk-len`
 * (the default is 512 MiB) takes every message the transport accepts.
 */
export const WORST_CASE_ARGUMENT_BYTES = 12 * MAX_MESSAGE_BYTES + 64 * 1024;

/** `messageBytes(message)` when it is over `limit`, else undefined (most messages are cleared by their lengths alone). */
export function messageBytesOver(message: OutgoingMessage, headersJson: string, limit: number): number | undefined {
  // headersJson holds every header name and value, and a UTF-16 unit is at most 3 UTF-8 bytes.
  const upper = message.body.byteLength + ((message.key?.length ?? 0) + headersJson.length) * 3;
  if (upper <= limit) return undefined;
  const bytes = messageBytes(message);
  return bytes > limit ? bytes : undefined;
}

/** The bytes of the largest argument when it is over `limit`, else undefined. */
export function largestArgumentOver(args: readonly (string | Buffer)[], limit: number): number | undefined {
  let largest = 0;
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? (arg.length * 3 <= limit ? 0 : Buffer.byteLength(arg)) : arg.byteLength;
    if (bytes > largest) largest = bytes;
  }
  return largest > limit ? largest : undefined;
}
