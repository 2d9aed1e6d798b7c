import type { TransportCapabilities } from '@omnibus/core';

/**
 * What the Kafka transport provides. Delays are emulated with delay and retry
 * topics read by the transport itself (Kafka has no per-message delay); ordering
 * by key holds because a key maps to one partition and the transport hands over
 * one message per key at a time.
 */
export const kafkaCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: true,
  persistence: true,
  // The broker default `message.max.bytes` is 1,048,588; keep room for batch overhead.
  maxMessageBytes: 1_000_000,
};
