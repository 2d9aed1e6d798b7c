import type { TransportCapabilities } from '@omnibus/core';

/**
 * What the Kafka transport provides. Delays are emulated with delay and retry
 * topics read by the transport itself (Kafka has no per-message delay); ordering
 * by key holds because a key maps to one partition and the transport hands over
 * one message per key at a time. A `reject` bound is checked by the publisher against
 * the groups' committed offsets (see bound/admission.ts).
 */
export const kafkaCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: true,
  persistence: true,
  // Measured as core measures it (key, header names and values, body). The broker's default
  // `message.max.bytes` is 1,048,588 for a whole record batch: the 48,588 bytes left cover the
  // batch header (61), the record's framing (~15, plus 2-6 per header) and the transport's own
  // headers on delay and retry records (~120 and the id), for up to about 8,000 headers.
  maxMessageBytes: 1_000_000,
  // Emulated: Kafka has no bound of its own (README "Bounded topics"). Retention deletes whole
  // segments by age or size for every group at once, so there is no drop-oldest, and the
  // backlog is counted from offsets, in messages only.
  boundedTopics: { reject: 'emulated', dropOldest: 'none', maxBytes: false },
};
