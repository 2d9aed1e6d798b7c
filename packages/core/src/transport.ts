/**
 * The transport interface: the only thing a broker package implements.
 *
 * A transport moves opaque messages (id, key, headers, bytes) between topics and
 * consumer groups, durably. It knows nothing of schemas, codecs, retry policies,
 * dead-letter topics or middleware: the policy layer in core does all of that on
 * top of these primitives, the same way on every broker.
 *
 * Vocabulary:
 * - topic: a named stream of messages. Publishing never needs a subscriber.
 * - group: a durable, named subscription of a topic. Every group of a topic gets
 *   every message (fan-out); consumers in one group compete (each message goes to
 *   one of them). Once a group exists (subscribe or ensureGroup was called), the
 *   messages published to its topic are kept for it while no consumer runs.
 * - delivery: one hand-over of one message to one consumer, settled exactly once by
 *   ack (done) or nack (deliver again later).
 */
import type { BoundSupport, TopicSettings } from './bound.js';
import type { TransportHealth } from './health.js';
import type { TransportInspection } from './inspection.js';
import type { Logger } from './logger.js';

/** A message as the transport carries it. Every field must round-trip unchanged. */
export interface TransportMessage {
  /** Unique message id chosen by the publisher (also the CloudEvents `ce-id` header). */
  readonly id: string;
  readonly topic: string;
  /** Partitioning / ordering key; `undefined` when the publisher gave none. */
  readonly key: string | undefined;
  /** String headers, including the envelope headers written by core. Must round-trip. */
  readonly headers: Readonly<Record<string, string>>;
  /** The encoded body. The transport never looks inside. */
  readonly body: Uint8Array;
}

/** A message to publish. */
export interface OutgoingMessage extends TransportMessage {
  /**
   * The id a broker may deduplicate on (NATS `Nats-Msg-Id`, a producer's idempotence key),
   * so that a publisher's own retries of one message are stored once. Core sets it to the
   * message id for what a user publishes.
   *
   * `undefined`: core publishes this message on its own (a dead letter, a retry, a replay,
   * a delay move): it often carries the id of a message the broker has seen before, and the
   * transport must never let broker-side deduplication drop it.
   */
  readonly deduplicationId?: string | undefined;
  /**
   * Deliver no earlier than this many milliseconds from now (delayed publish).
   * 0 or undefined: deliver as soon as possible.
   */
  readonly delayMs?: number | undefined;
}

export interface NackOptions {
  /** Redeliver no earlier than this many milliseconds from now (0: as soon as possible). */
  readonly delayMs?: number | undefined;
  /**
   * Headers to merge into the redelivered message (core stores retry bookkeeping
   * such as the first failure time here). Transports that redeliver the stored
   * message natively and cannot rewrite it declare `redeliveryHeaders: false`.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * One hand-over of a message to a consumer.
 *
 * `ack` and `nack` are idempotent and exclude each other: the first call settles the
 * delivery and any later call (of either) resolves without effect. A delivery whose
 * connection/channel/session was lost is never acked on another one: the transport
 * turns such an ack into a no-op and the broker redelivers the message. (Redis has no
 * session: there a late ack of an entry another member has since claimed is applied,
 * which is safe because core acks only after the handler finished.)
 */
/**
 * Broker facts about one delivery that core does not use for policy but passes on to
 * handlers and middleware (tracing, logs). Every field is optional; a transport sets what
 * its broker has, and may add its own names.
 */
export interface DeliveryMetadata {
  /** Kafka partition. */
  readonly partition?: number;
  /** Position in the log: Kafka offset, Redis stream entry id, JetStream stream sequence. */
  readonly offset?: string;
  /** The broker's own delivery handle: AMQP delivery tag, JetStream consumer sequence. */
  readonly deliveryTag?: string;
  readonly [name: string]: string | number | undefined;
}

export interface Delivery {
  readonly message: TransportMessage;
  /** Broker facts about this delivery (see DeliveryMetadata); undefined when there are none. */
  readonly metadata?: DeliveryMetadata | undefined;
  /**
   * 1-based count of deliveries of this message to this group, surviving
   * redelivery by nack, crash recovery and reconnects.
   */
  readonly attempt: number;
  /** Done: the message will not be delivered to this group again. */
  ack(): Promise<void>;
  /** Not done: deliver it again (to any consumer of the group) with attempt + 1. */
  nack(options?: NackOptions): Promise<void>;
}

export interface SubscribeParams {
  readonly topic: string;
  readonly group: string;
  /** Upper bound on deliveries handed over and not yet settled, at any time. */
  readonly concurrency: number;
  /**
   * Called once per delivery. The transport does not await it for flow control:
   * it stops handing over deliveries while `concurrency` are unsettled.
   */
  readonly onDelivery: (delivery: Delivery) => void;
  /** Non-fatal errors the transport recovers from itself (reconnects, a cancelled consumer). */
  readonly onError: (error: Error) => void;
}

export interface TransportSubscription {
  /**
   * Stop handing over new deliveries. Deliveries already handed over can still be
   * settled afterwards. Resolves when no further `onDelivery` call will happen.
   */
  stop(): Promise<void>;
  /**
   * Release the consumer. Unsettled deliveries are released for redelivery (never
   * acked). Idempotent. Implies stop().
   */
  close(): Promise<void>;
}

/** How a transport provides a feature: itself, by emulation in the transport, or not at all. */
export type Support = 'native' | 'emulated' | 'none';

export interface TransportCapabilities {
  /** `OutgoingMessage.delayMs`. */
  readonly delayedPublish: Support;
  /**
   * `nack({ delayMs })` with a delay > 0. `'none'`: core holds the delivery unsettled for the delay
   * and then nacks it without one (retry backoff still holds, at the cost of a held slot).
   */
  readonly delayedRedelivery: Support;
  /** `nack({ headers })` is honoured on redelivery. */
  readonly redeliveryHeaders: boolean;
  /**
   * Messages of one key are handed over in publish order, each after the previous
   * one of that key was handed over (given no nack in between).
   */
  readonly orderingByKey: boolean;
  /** Messages survive a broker restart. */
  readonly persistence: boolean;
  /** Largest body + headers the transport accepts, in bytes. */
  readonly maxMessageBytes: number;
  /**
   * Bounded topics (see TopicBound and `declareTopic`). Absent: none, and core refuses a
   * bounded topic on this transport with an UnsupportedError before anything is sent.
   */
  readonly boundedTopics?: BoundSupport | undefined;
}

export interface Transport {
  /** Short name for logs and errors: 'memory', 'rabbitmq', 'kafka', 'redis', 'nats'. */
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** Connect and verify the broker answers. Rejects with a ConnectionError. Idempotent. */
  connect(): Promise<void>;
  /**
   * Publish messages, possibly to several topics. Resolves only when the broker has
   * durably accepted every one of them; rejects with a PublishError otherwise (some
   * may have been accepted: publishing is at-least-once, ids allow deduplication).
   */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Optional. What the topic's definition says about its storage (a bound), told once per topic
   * before core first publishes to it, ensures a group of it or subscribes to it. The transport
   * applies it to the storage it creates for the topic (and, where the broker can change
   * existing storage, to what exists). With a `reject` bound, `publish` rejects a message the
   * broker refused for lack of room with a QueueFullError, and the message is not stored.
   * Core calls it only for topics with settings; it never calls it for a dead-letter topic.
   */
  declareTopic?(topic: string, settings: TopicSettings): Promise<void>;
  /** Create the durable group if missing, so the topic's messages are kept for it. Idempotent. */
  ensureGroup(topic: string, group: string): Promise<void>;
  /** Start consuming a group of a topic (creating the group if missing). */
  subscribe(params: SubscribeParams): Promise<TransportSubscription>;
  /** Close every subscription (releasing unsettled deliveries) and disconnect. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional. Read depth and lag from the broker for `topic`: for `group` only, or for every
   * group of the topic the broker knows. Never creates anything; an unknown topic or group
   * gives zero counts. Missing: `bus.inspect` throws an UnsupportedError.
   */
  inspect?(topic: string, group?: string): Promise<TransportInspection>;
  /**
   * Optional. Remove a group and what the transport keeps for it (its queue, consumer, retry
   * path), so a temporary reader (`omnibus tail`) leaves nothing behind. Idempotent; never
   * touches the topic or another group. Missing: `bus.deleteGroup` throws an UnsupportedError.
   */
  deleteGroup?(topic: string, group: string): Promise<void>;
  /** Optional. The connection's state now, synchronously (no broker round trip). */
  health?(): TransportHealth;
  /**
   * Optional. What the broker says of itself (product and version, as it reported them at
   * connect or in one round trip), for `omnibus doctor` and support requests. Connects if needed.
   */
  brokerInfo?(): Promise<BrokerInfo>;
}

/** What a broker reports of itself (see Transport.brokerInfo). */
export interface BrokerInfo {
  /** The broker's product name, e.g. `RabbitMQ`, `Redis`, `nats-server`. */
  readonly product: string;
  /** Its version as it reports it; undefined when the protocol has no way to ask. */
  readonly version: string | undefined;
  /** Further facts the broker gives (cluster name, platform, mode), all printable. */
  readonly details?: Readonly<Record<string, string>> | undefined;
}

/** What createBus hands a transport package's `createTransport`. */
export interface TransportInit {
  /** The broker URL (credentials included; never log it, use redactUrl). */
  readonly url: string;
  /** Transport-specific options, validated by the transport with zod. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly logger: Logger;
}

/** The shape of a transport package: `export function createTransport(init)`. */
export interface TransportModule {
  createTransport(init: TransportInit): Transport;
}
