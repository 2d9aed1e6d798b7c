import type { TransportCapabilities } from '@omnibus/core';

/**
 * The largest message in core's measure (body, key, headers). SQS takes 1 MiB on the wire, body
 * and attributes together; a binary body goes as base64 (4/3 larger) and headers as JSON, so 720
 * KiB in core's measure still fits, dead-letter headers included. The transport checks the encoded
 * size too (MessageTooLargeError before anything is sent).
 */
export const MAX_MESSAGE_BYTES = 720 * 1024;

/**
 * What the SQS transport provides (see README "Capabilities").
 * - Delays: DelaySeconds (whole seconds, up to 15 minutes); longer ones hop (sent on every 15
 *   minutes until due). Redelivery delays: the visibility timeout (up to 12 hours), else a copy.
 * - No ordering by key: standard queues deliver in no particular order (FIFO queues would, but
 *   refuse per-message delays and cap throughput; see README).
 * - Persistence: SQS' own (ElasticMQ only with its H2 message storage).
 */
export const sqsCapabilities: TransportCapabilities = {
  delayedPublish: 'native',
  delayedRedelivery: 'native',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: MAX_MESSAGE_BYTES,
};
