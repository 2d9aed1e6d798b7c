export { createBus, loadTransportModule, TransportPackages } from './create-bus.js';
export type { BusConfig, TransportName } from './create-bus.js';
export { isTransportFactory, transportFactory, TRANSPORT_FACTORY_KIND } from './transport-factory.js';
export type { TransportFactory, TransportFactoryInit } from './transport-factory.js';
export { Bus, deadLetterTopicName, deadLetterTopicOf, DEAD_LETTER_GROUP } from './bus.js';
export type { PublishOptions, BatchItem, SubscribeOptions, SubscribeBatchOptions, Subscription, BusSettings } from './bus.js';
export type { BatchHandler, BatchContext } from './batch.js';
export type { RateLimit } from './rate-limit.js';
export { TokenBucket } from './rate-limit.js';
export type { IdempotencyOptions } from './idempotency/idempotent-handler.js';
export { parseTopicBound, assertBoundSupported } from './bound.js';
export type { TopicBound, OverflowPolicy, BoundSupport, TopicSettings } from './bound.js';
export { defineTopic, rawTopic, assertTopicName, assertGroupName } from './topic.js';
export type { Topic, TopicOptions, BodyOf, InputOf } from './topic.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export { validateBody } from './schema-validation.js';
export { MAX_TOPIC_NAME_LENGTH, MAX_DEFINED_TOPIC_NAME_LENGTH } from './topic.js';
export { DEAD_LETTER_HEADROOM_BYTES, PendingDeadLetterHeaders, readDeadLetter } from './dead-letter.js';
export type { DeadLetterInfo } from './dead-letter.js';
export { messageBytes, messageBytesOver } from './message-size.js';
export { assertDelayMs, delayUntil, MAX_DELAY_MS } from './delay.js';
export { describeThrown, thrownMessage, safeString, cutBytes, asLoggableError, ErrorDescriptionBudget } from './describe-error.js';
export type { ErrorDescription } from './describe-error.js';
export { DEFAULT_MAX_PUBLISHES_IN_FLIGHT } from './bus.js';
export { jsonCodec, bytesCodec } from './codec.js';
export type { Codec } from './codec.js';
export { EnvelopeHeaders, CloudEventsAmqpProperties, CloudEventsAmqpColonProperties, Headers, DeadLetterHeaders, isReservedHeader } from './headers.js';
export type { DeadLetterReason } from './headers.js';
export { BackoffSchema, backoffDelay } from './backoff.js';
export type { Backoff, BackoffInput } from './backoff.js';
export { RetryPolicySchema, NonRetryableError, decideRetry } from './retry.js';
export type { RetryPolicy, RetryPolicyInput, RetryDecision } from './retry.js';
export type { Message, HandlerContext, Handler, Publication, PublishEnvelope, PublishMiddleware, ConsumeMiddleware, Middleware, SettledEvent, SettledHook, SettledOutcome } from './message.js';
export {
  OmnibusError,
  ConfigError,
  ValidationError,
  PublishError,
  ConnectionError,
  DecodeError,
  TimeoutError,
  ClosedError,
  UnsupportedError,
  MessageTooLargeError,
  DeadLetterError,
  QueueFullError,
  ErrorCodes,
  isOmnibusError,
} from './errors.js';
export type { ErrorCode, ValidationIssue } from './errors.js';
export { silentLogger } from './logger.js';
export type { Logger, LogFn } from './logger.js';
export { redactUrl, redactText, redactSecrets } from './redact.js';
export { Redactor, MIN_SCRUBBED_SECRET_LENGTH } from './redact.js';
export { secretsOf, urlSecrets, optionSecrets, secretForms } from './secrets.js';
export { redactingLogger } from './redacting-logger.js';
export { redactingTransport } from './redacting-transport.js';
export { parseOptions } from './validate.js';
export type {
  BrokerInfo,
  Transport,
  TransportCapabilities,
  TransportMessage,
  OutgoingMessage,
  Delivery,
  DeliveryMetadata,
  NackOptions,
  SubscribeParams,
  TransportSubscription,
  TransportInit,
  TransportModule,
  Support,
} from './transport.js';
export { createMemoryTransport, createMemoryBroker, memoryCapabilities } from './memory/memory-transport.js';
export type { MemoryTransportOptions } from './memory/memory-transport.js';
export { memory } from './memory/memory-factory.js';
export { MemoryBroker } from './memory/memory-broker.js';
export { handlerSpy, capturePublished } from './testing/handler-spy.js';
export type { HandlerSpy, SpyCall, SpyOutcome, PublishedCapture } from './testing/handler-spy.js';
export { Signal } from './testing/wait.js';
export type { SubscriptionStats } from './subscription-stats.js';
export type { BusHealth, SubscriptionHealth, TransportHealth, HealthOptions } from './health.js';
export { DEFAULT_STALL_AFTER_MS } from './health.js';
export type { Count, GroupInspection, TopicInspection, TransportInspection } from './inspection.js';
export { MemoryIdempotencyStore } from './idempotency/memory-store.js';
export type { IdempotencyStore, ClaimResult } from './idempotency/store.js';
export { SettleOnce, withTimeout, pause, exponentialBackoff, assertConcurrency, assertHeaderValues, MAX_CONCURRENCY, decodeUrlPart } from './kit/index.js';
export type { SettleState } from './kit/index.js';
