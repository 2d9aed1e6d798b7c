/**
 * Headers the transport writes for itself. They never reach `message.headers`.
 * Core reserves the `omnibus-` prefix, so user headers cannot collide with them.
 */
export const TransportHeaders = {
  /** The Omnibus message id (a raw transport publish may carry no `ce-id`). */
  id: 'omnibus-kafka-id',
  /** Attempt number of the next delivery of a message in a retry topic. */
  attempt: 'omnibus-kafka-attempt',
  /** Epoch milliseconds before which a delay/retry-topic message is not delivered. */
  due: 'omnibus-kafka-due',
} as const;

/**
 * Where core's CloudEvents envelope goes in a record: the CloudEvents Kafka protocol binding,
 * binary content mode (attributes as `ce_` headers, the data content type as `content-type`,
 * the data as the value). Written from 0.2.0 on; 0.1 wrote core's own names (`ce-id`, …, the
 * HTTP binding's), which the reader still takes (see fromRecord).
 */
export const WireHeaders = {
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  time: 'ce_time',
  specVersion: 'ce_specversion',
  contentType: 'content-type',
} as const;
