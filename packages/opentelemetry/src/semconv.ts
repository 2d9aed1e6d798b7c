/**
 * The OpenTelemetry semantic-convention names this package emits, pinned to
 * semantic conventions v1.27.0 (the messaging conventions' "send"/"process"/"settle"
 * operation types and the `messaging.client.*` metrics).
 *
 * Copied here rather than imported from `@opentelemetry/semantic-conventions/incubating`,
 * as that package recommends for instrumentations: the incubating entry point may rename
 * or drop these in a minor release, and what we emit must not change under a user's
 * dashboards without a release of ours. Stable names (`error.type`) come from the package.
 */
export { ATTR_ERROR_TYPE, ERROR_TYPE_VALUE_OTHER } from '@opentelemetry/semantic-conventions';

export const SEMCONV_VERSION = '1.27.0';
export const SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const ATTR_MESSAGING_DESTINATION_PARTITION_ID = 'messaging.destination.partition.id';
export const ATTR_MESSAGING_CONSUMER_GROUP_NAME = 'messaging.consumer.group.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_MESSAGING_KAFKA_MESSAGE_KEY = 'messaging.kafka.message.key';
export const ATTR_MESSAGING_KAFKA_OFFSET = 'messaging.kafka.offset';
export const ATTR_MESSAGING_RABBITMQ_MESSAGE_DELIVERY_TAG = 'messaging.rabbitmq.message.delivery_tag';

/** `messaging.operation.type` values. */
export const MessagingOperationType = {
  create: 'create',
  send: 'send',
  process: 'process',
} as const;

/** Well-known `messaging.system` values for the brokers Omnibus ships transports for. */
export const MESSAGING_SYSTEM_VALUE_KAFKA = 'kafka';
export const MESSAGING_SYSTEM_VALUE_RABBITMQ = 'rabbitmq';

export const METRIC_MESSAGING_CLIENT_SENT_MESSAGES = 'messaging.client.sent.messages';
export const METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES = 'messaging.client.consumed.messages';
export const METRIC_MESSAGING_CLIENT_OPERATION_DURATION = 'messaging.client.operation.duration';
export const METRIC_MESSAGING_PROCESS_DURATION = 'messaging.process.duration';

/** The duration buckets the conventions advise for messaging durations (seconds). */
export const DURATION_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
