import type { TransportCapabilities } from '@omnibus/core';

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
 */
export const natsCapabilities: TransportCapabilities = Object.freeze({
  delayedPublish: 'emulated',
  delayedRedelivery: 'native',
  redeliveryHeaders: false,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: DEFAULT_MAX_PAYLOAD - HEADER_ALLOWANCE,
});
