import { assertDelayMs, assertHeaderValues, ConfigError, MAX_DELAY_MS, MessageTooLargeError, messageBytesOver, type OutgoingMessage, type TransportMessage } from '@omnibus/core';
import type { TopicBounds } from './bound.js';
import { encodeMessage, reservedHeaderReason, TransportHeaders, type EncodedMessage } from './codec.js';
import { headerTableBytesOver, MAX_HEADER_TABLE_BYTES, MAX_USER_HEADER_TABLE_BYTES } from './size.js';
import { delayBucket } from './delay.js';
import type { Names } from './names.js';
import type { RabbitMQOptions } from './options.js';
import type { AmqpPublish } from './publisher.js';
import type { Topology } from './topology.js';

/**
 * Turns transport messages into AMQP publishes: where each goes and what must be declared first.
 *
 * - publish, no delay:  topic exchange (not mandatory: a topic without groups keeps nothing).
 * - publish, delayed:   delay exchange → bucket queue → (TTL) → router `t:<exchange>` → topic exchange.
 * - nack, no delay:     default exchange → the group's queue (a copy with attempt + 1 and merged headers).
 * - nack, delayed:      delay exchange → bucket queue → (TTL) → router `q:<queue>` → that group's queue only.
 *
 * A reject-bounded topic (bound.ts): a plain publish carries the bound, so that the publisher
 * reads a basic.nack as a full queue; retries go to the group's re-entry queue (by name without
 * delay; with a delay the router's `q:<queue>` leads there), delayed publishes reach the
 * re-entry queues through the router's `t:<exchange>`.
 */
/** What every plain publish to one topic shares (built once per topic, not per message). */
interface TopicRoute {
  readonly exchange: string;
  readonly prepareKey: string;
  readonly prepare: () => Promise<void>;
  readonly forget: () => void;
}

/** Topics whose route is cached; beyond this the cache starts over (names are cheap to rebuild). */
const MAX_CACHED_ROUTES = 1_024;

export class Planner {
  private readonly routes = new Map<string, TopicRoute>();

  constructor(
    private readonly names: Names,
    private readonly topology: Topology,
    private readonly options: RabbitMQOptions,
    private readonly bounds: TopicBounds,
  ) {}

  /**
   * A message published to a topic (checked here: bad input throws before anything is sent).
   * `index`: its position in a batch of several, for errors.
   */
  forTopic(message: OutgoingMessage, index?: number): AmqpPublish {
    checkHeaders(message.headers);
    const { topic } = message;
    // Core checks the delay already; a caller using the transport directly is checked too.
    assertDelayMs(message.delayMs, 'delayMs');
    const delayMs = message.delayMs ?? 0;
    // Core checks this already (with headroom); a caller using the transport directly is checked too.
    const bytes = messageBytesOver(message, this.options.maxMessageBytes);
    if (bytes !== undefined) throw new MessageTooLargeError({ topic, bytes, limit: this.options.maxMessageBytes, index, hint: ' (options.maxMessageBytes)' });
    if (delayMs > 0) {
      const bucket = delayBucket(delayMs, this.options.delayBucketsPerDoubling);
      const encoded = checkTable(encodeMessage(message, { [TransportHeaders.delayBucket]: this.names.delayBucketValue(bucket) }), message, index);
      return {
        exchange: this.names.delayExchange(),
        routingKey: this.names.routeToTopic(topic),
        content: encoded.content,
        options: encoded.options,
        mandatory: true,
        topic,
        prepareKey: `delayed ${bucket} ${topic}`,
        prepare: async () => {
          await Promise.all([this.topology.delayBucket(bucket), this.topology.delayedTopic(topic)]);
        },
        forget: () => {
          this.topology.forgetDelayBucket(bucket);
          this.topology.forgetTopic(topic);
        },
      };
    }
    const route = this.route(topic);
    const encoded = checkTable(encodeMessage(message), message, index);
    return {
      exchange: route.exchange,
      routingKey: encoded.routingKey,
      content: encoded.content,
      options: encoded.options,
      mandatory: false,
      topic,
      prepareKey: route.prepareKey,
      prepare: route.prepare,
      forget: route.forget,
      rejectBound: this.bounds.rejects(topic),
    };
  }

  private route(topic: string): TopicRoute {
    let route = this.routes.get(topic);
    if (!route) {
      if (this.routes.size >= MAX_CACHED_ROUTES) this.routes.clear();
      route = {
        exchange: this.names.topicExchange(topic),
        prepareKey: `topic ${topic}`,
        prepare: () => this.topology.topic(topic),
        forget: () => this.topology.forgetTopic(topic),
      };
      this.routes.set(topic, route);
    }
    return route;
  }

  /** The copy of a nacked delivery, back to its own group's queue only, `delayMs` later. */
  forRedelivery(message: TransportMessage, attempt: number, delayMs: number, group: string): AmqpPublish {
    const { topic } = message;
    const queue = this.names.groupQueue(topic, group);
    const extra: Record<string, string> = { [TransportHeaders.attempt]: String(attempt) };
    const delay = Math.min(Math.max(0, Number.isFinite(delayMs) ? delayMs : 0), MAX_DELAY_MS);
    const prepareGroup = async () => {
      await this.topology.group(topic, group);
    };
    if (delay > 0) {
      const bucket = delayBucket(delay, this.options.delayBucketsPerDoubling);
      extra[TransportHeaders.delayBucket] = this.names.delayBucketValue(bucket);
      const encoded = encodeMessage(message, extra);
      return {
        exchange: this.names.delayExchange(),
        routingKey: this.names.routeToQueue(queue),
        content: encoded.content,
        options: encoded.options,
        mandatory: true,
        topic,
        prepareKey: `retry ${bucket} ${queue}`,
        prepare: async () => {
          await Promise.all([this.topology.delayBucket(bucket), prepareGroup()]);
        },
        forget: () => {
          this.topology.forgetDelayBucket(bucket);
          this.topology.forgetGroup(queue);
        },
      };
    }
    const encoded = encodeMessage(message, extra);
    // A reject-bounded group queue would refuse the copy when full: it re-enters beside it.
    const target = this.bounds.rejects(topic) === undefined ? queue : this.names.reentryQueue(topic, group);
    return {
      exchange: '',
      routingKey: target,
      content: encoded.content,
      options: encoded.options,
      mandatory: true,
      topic,
      prepareKey: `requeue ${queue}`,
      prepare: prepareGroup,
      forget: () => this.topology.forgetGroup(queue),
    };
  }
}

/**
 * The headers table must encode in amqplib's 64 KiB; a user's publish keeps room for the
 * dead-letter headers core may add to it later (see size.ts). What core publishes on its own
 * (no deduplicationId) may use that room.
 */
function checkTable(encoded: EncodedMessage, message: OutgoingMessage, index: number | undefined): EncodedMessage {
  const limit = message.deduplicationId === undefined ? MAX_HEADER_TABLE_BYTES : MAX_USER_HEADER_TABLE_BYTES;
  const bytes = headerTableBytesOver(encoded.options.headers as Record<string, string>, limit);
  if (bytes === undefined) return encoded;
  throw new MessageTooLargeError({
    topic: message.topic,
    bytes,
    limit,
    index,
    what: `the AMQP headers table of ${index === undefined ? 'the message' : `message ${index} of the batch`}`,
    hint: ` for the headers table alone (amqplib encodes it in 64 KiB, less room kept for dead-letter headers)`,
  });
}

/**
 * RabbitMQ's names, not core's: the bus refuses its envelope names (which do reach us, written by
 * core); these are the transport's and the broker's own, refused from every caller.
 */
function checkHeaders(headers: Readonly<Record<string, string>>): void {
  for (const name in headers) {
    const reason = reservedHeaderReason(name);
    if (reason) throw new ConfigError(`headers.${name}`, `header name ${reason}`);
  }
  assertHeaderValues(headers);
}
