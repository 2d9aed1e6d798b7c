import type { BoundSupport, TransportCapabilities } from '@omnibus/core';

import { keepsBytesBound } from './bound.js';

/** nats-server's default max_payload (1 MiB): the limit of body + headers of one message. */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;
/**
 * Room left for what the transport adds to core's measure (body, key, header names and
 * values): the header block's framing (12 bytes + 4 per header), Nats-Msg-Id,
 * Omnibus-Nats-Id, Nats-Expected-Stream (≤ 255), the key and due headers (≈ 800 bytes with
 * ids and keys of 200 characters), and the base64 growth of core's dead-letter headers
 * (≤ 4 KiB, +1.4 KiB). What still does not fit is refused before sending (publisher.ts).
 */
export const HEADER_ALLOWANCE = 8_192;

/**
 * What the NATS JetStream transport provides (with default options: file storage).
 * - delayedPublish: emulated with a delay stream and a mover (2.9 cannot schedule).
 * - delayedRedelivery: native (`-NAK {"delay": …}`).
 * - redeliveryHeaders: false — JetStream redelivers the stored message; it cannot be rewritten.
 * - orderingByKey: false — competing consumers of a group and redeliveries after the ack wait reorder a key.
 * - maxMessageBytes: the server's max_payload (its INFO, after connect()) minus HEADER_ALLOWANCE.
 * - boundedTopics: stream limits (`max_msgs`, `max_bytes`) with `discard: new` (reject) or
 *   `discard: old` (drop-oldest) on an interest stream; see bound.ts and the README.
 */
export const natsCapabilities: TransportCapabilities = Object.freeze({
  delayedPublish: 'emulated',
  delayedRedelivery: 'native',
  redeliveryHeaders: false,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: DEFAULT_MAX_PAYLOAD - HEADER_ALLOWANCE,
  boundedTopics: natsBoundSupport(undefined),
});

/**
 * Bounds this server keeps: by message count always; in bytes only where nats-server refuses
 * exactly at `max_bytes` (2.10.5 and later, see bound.ts), so `maxBytes` is false before connect().
 */
export function natsBoundSupport(serverVersion: string | undefined): BoundSupport {
  return { reject: 'native', dropOldest: 'native', maxBytes: keepsBytesBound(serverVersion) };
}
