/**
 * Names Omnibus emits where the semantic conventions define none (documented in the README).
 * All live under `omnibus.*`, so they never collide with a future convention.
 */

/** 1-based delivery attempt of this message to this group (Omnibus' retry count, surviving redelivery). */
export const ATTR_OMNIBUS_MESSAGE_ATTEMPT = 'omnibus.message.attempt';
/** The message key, on brokers whose conventions define no key attribute (all but Kafka). */
export const ATTR_OMNIBUS_MESSAGE_KEY = 'omnibus.message.key';
/** Position in the log where the broker has one and the conventions name none (Redis entry id, JetStream stream sequence). */
export const ATTR_OMNIBUS_MESSAGE_OFFSET = 'omnibus.message.offset';
/** The broker's delivery handle where the conventions name none (JetStream consumer sequence). */
export const ATTR_OMNIBUS_DELIVERY_TAG = 'omnibus.delivery_tag';
/** Prefix of a transport's own DeliveryMetadata fields (beyond partition, offset, deliveryTag). */
export const ATTR_OMNIBUS_METADATA_PREFIX = 'omnibus.metadata.';
/** How the delivery was settled: ack, retry, dead-letter, dead-letter-pending, released. */
export const ATTR_OMNIBUS_SETTLEMENT_OUTCOME = 'omnibus.settlement.outcome';
/** Delay before the next attempt, on the retry event. */
export const ATTR_OMNIBUS_RETRY_DELAY_MS = 'omnibus.retry.delay_ms';
/** Why the message was dead-lettered (max-attempts, non-retryable, explicit, undecodable, invalid). */
export const ATTR_OMNIBUS_DEAD_LETTER_REASON = 'omnibus.dead_letter.reason';

/** Span events on the consumer ("process") span, one per settlement that is not a plain ack. */
export const OmnibusEvents = {
  retry: 'omnibus.retry',
  deadLetter: 'omnibus.dead_letter',
  deadLetterPending: 'omnibus.dead_letter.pending',
  released: 'omnibus.released',
} as const;

/** Omnibus metrics beside the conventions' messaging metrics. */
export const OmnibusMetrics = {
  retries: 'omnibus.consumer.retries',
  deadLetters: 'omnibus.consumer.dead_letters',
  deadLettersPending: 'omnibus.consumer.dead_letters.pending',
  released: 'omnibus.consumer.released',
  inFlight: 'omnibus.consumer.in_flight',
} as const;
