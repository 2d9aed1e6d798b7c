import type { TopicBound } from '@omnibus/core';

/**
 * Bounded topics on RabbitMQ (see README "Bounded topics"): the bound goes on every group queue
 * of the topic as `x-max-length` / `x-max-length-bytes` with `x-overflow`:
 *
 * - `reject` → `reject-publish`: the queue refuses a message it has no room for, the publisher
 *   confirm is a basic.nack, and the transport rejects that publish with a QueueFullError.
 * - `drop-oldest` → `drop-head`: the queue takes the message and discards its oldest ready one.
 *
 * A `reject` queue would also refuse (and, being the target of dead-lettering, DROP) what
 * re-enters it from a delay bucket: a delayed retry or a delayed publish. Those never go to the
 * bounded queue: each group of a reject-bounded topic has an unbounded re-entry queue beside it
 * (Names.reentryQueue), which its subscriptions consume as well.
 */

/** What this transport was told about its bounded topics (Transport.declareTopic), per topic name. */
export class TopicBounds {
  private readonly bounds = new Map<string, TopicBound>();

  /** The latest declaration wins: core refuses two different bounds for one name on one bus. */
  set(topic: string, bound: TopicBound): void {
    this.bounds.set(topic, bound);
  }

  get(topic: string): TopicBound | undefined {
    return this.bounds.get(topic);
  }

  /** The topic refuses what does not fit (and so has re-entry queues for its retries). */
  rejects(topic: string): TopicBound | undefined {
    const bound = this.bounds.get(topic);
    return bound?.overflow === 'reject' ? bound : undefined;
  }
}

/** The queue arguments of a bounded group queue. */
export function boundArguments(bound: TopicBound): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-overflow': bound.overflow === 'reject' ? 'reject-publish' : 'drop-head' };
  if (bound.maxMessages !== undefined) args['x-max-length'] = bound.maxMessages;
  if (bound.maxBytes !== undefined) args['x-max-length-bytes'] = bound.maxBytes;
  return args;
}

/** `at most 10 messages and 8192 bytes waiting in a group's queue`, for errors. */
export function describeBound(bound: TopicBound): string {
  const parts: string[] = [];
  if (bound.maxMessages !== undefined) parts.push(`${bound.maxMessages} messages`);
  if (bound.maxBytes !== undefined) parts.push(`${bound.maxBytes} bytes`);
  return `at most ${parts.join(' and ')} waiting in a group's queue`;
}

/** A 406 about these arguments means the queue exists with another bound (or none). */
export const BOUND_ARGUMENT = /x-max-length|x-overflow/;
