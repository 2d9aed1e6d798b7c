import { DEAD_LETTER_HEADROOM_BYTES } from '@omnibus/core';

/**
 * amqplib encodes a message's headers table into one 64 KiB scratch buffer: a larger table
 * cannot be sent at all (RangeError), whatever the broker's max_message_size (which counts
 * the body only). The table holds the envelope headers, the key (`x-omnibus-key`), an id over
 * 255 bytes (`x-omnibus-id`), and per entry 6 bytes of framing (name length, type, value length).
 */
export const HEADER_TABLE_BYTES = 65_536;

/** Kept free for the headers the transport adds after planning: token, attempt, delay bucket. */
const TRANSPORT_HEADERS_RESERVE = 256;

/**
 * Largest headers table of a message a user publishes: the dead-letter copy core may make of
 * it later adds up to DEAD_LETTER_HEADROOM_BYTES of headers, and must still be sendable.
 */
export const MAX_USER_HEADER_TABLE_BYTES = HEADER_TABLE_BYTES - TRANSPORT_HEADERS_RESERVE - DEAD_LETTER_HEADROOM_BYTES;

/** Largest headers table of a message core publishes on its own (dead letters, retries, replays). */
export const MAX_HEADER_TABLE_BYTES = HEADER_TABLE_BYTES - TRANSPORT_HEADERS_RESERVE;

/** Encoded size of a table of long strings when over `limit`, else undefined (most tables are cleared by their lengths). */
export function headerTableBytesOver(headers: Readonly<Record<string, string>>, limit: number): number | undefined {
  let upper = 4;
  for (const name in headers) upper += 6 + (name.length + (headers[name] as string).length) * 3;
  if (upper <= limit) return undefined;
  let bytes = 4;
  for (const name in headers) bytes += 6 + Buffer.byteLength(name) + Buffer.byteLength(headers[name] as string);
  return bytes > limit ? bytes : undefined;
}
