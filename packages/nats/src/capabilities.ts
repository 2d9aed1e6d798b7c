import type { TransportCapabilities } from '@omnibus/core';

/** nats-server's default max_payload (1 MiB): the limit of body + headers of one message. */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;
/** Room left for what the transport adds (Nats-Msg-Id, key header, base64 of unusual header values). */
export const HEADER_ALLOWANCE = 8_192;

/**
 * What the NATS JetStream transport provides (with default options: file storage).
 * - delayedPublish: emulated with a delay stream and a mover (2.9 cannot schedule).
 * - delayedRedelivery: native (`-NAK {"delay": …}`).
 * - redeliveryHeaders: false — JetStream redelivers the stored message; it cannot be rewritten.
 * - orderingByKey: false — competing consumers of a group and redeliveries after the ack wait reorder a key.
 * - maxMessageBytes: the server's max_payload minus an allowance (known exactly after connect()).
 */
export const natsCapabilities: TransportCapabilities = Object.freeze({
  delayedPublish: 'emulated',
  delayedRedelivery: 'native',
  redeliveryHeaders: false,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: DEFAULT_MAX_PAYLOAD - HEADER_ALLOWANCE,
});
