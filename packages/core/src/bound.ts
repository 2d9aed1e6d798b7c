import { number, oneOf, optional, refine, strictObject } from './options/rules.js';
import { ConfigError, UnsupportedError } from './errors.js';
import type { Support, TransportCapabilities } from './transport.js';
import { parseOptions } from './validate.js';

/**
 * What happens to a publish when a bounded topic is full:
 * - `reject`: the publish rejects at once with a QueueFullError (code QUEUE_FULL) and the
 *   message is not stored, so a front end can answer "sold out" instead of timing out;
 * - `drop-oldest`: the message is stored and the oldest waiting one is discarded.
 */
export type OverflowPolicy = 'reject' | 'drop-oldest';

/**
 * A cap on what a topic keeps waiting for its consumers: at most `maxMessages` messages and/or
 * `maxBytes` bytes of bodies. What the broker counts is in each transport's README: per group's
 * queue on RabbitMQ and memory:// (messages not handed over), per group on Redis (entries the
 * group has not read), per topic stream on NATS (messages some group has not acked), per group
 * on Kafka (records after the group's committed offset).
 */
export interface TopicBound {
  readonly maxMessages?: number | undefined;
  readonly maxBytes?: number | undefined;
  readonly overflow: OverflowPolicy;
}

/** What a transport can bound, per overflow policy (absent on a transport: none). */
export interface BoundSupport {
  readonly reject: Support;
  readonly dropOldest: Support;
  /** `maxBytes` is honoured (otherwise only `maxMessages`). */
  readonly maxBytes: boolean;
}

/** What core tells a transport about a topic before it first touches it (see Transport.declareTopic). */
export interface TopicSettings {
  readonly bound?: TopicBound | undefined;
}

const TopicBoundSchema = refine(
  strictObject({
    maxMessages: optional(number({ int: true, min: 1, max: 2 ** 31 - 1 })),
    maxBytes: optional(number({ int: true, min: 1, max: Number.MAX_SAFE_INTEGER })),
    overflow: oneOf(['reject', 'drop-oldest']),
  }),
  (b) => b.maxMessages !== undefined || b.maxBytes !== undefined,
  'give maxMessages, maxBytes or both',
);

/** Validate a user's bound (a ConfigError naming the field otherwise). */
export function parseTopicBound(input: unknown, field = 'bound'): TopicBound {
  return parseOptions(TopicBoundSchema, input, field);
}

/** Refuse a bound the transport cannot keep, before anything is sent: never a silently unbounded topic. */
export function assertBoundSupported(transport: { readonly name: string; readonly capabilities: TransportCapabilities }, topic: string, bound: TopicBound): void {
  const support = transport.capabilities.boundedTopics;
  const policy = bound.overflow === 'reject' ? support?.reject : support?.dropOldest;
  if (!support || !policy || policy === 'none') {
    throw new UnsupportedError(`topic "${topic}" is bounded with overflow "${bound.overflow}", which transport "${transport.name}" cannot keep: use an unbounded topic there, or see the capability matrix in the README`);
  }
  if (bound.maxBytes !== undefined && !support.maxBytes) {
    throw new ConfigError('bound.maxBytes', `transport "${transport.name}" can bound topic "${topic}" by message count only: use maxMessages`);
  }
}
