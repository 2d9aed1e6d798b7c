import { createHash } from 'node:crypto';

/** AMQP exchange and queue names and routing keys are short strings: at most 255 bytes. */
const MAX_NAME_BYTES = 255;

/**
 * Every broker object the transport declares, named from the prefix, topics and groups.
 *
 * Topic and group names cannot contain `:` (core validates them), so the internal objects,
 * which all contain `omnibus:`, never collide with a topic's exchange or a group's queue.
 */
export class Names {
  constructor(
    private readonly prefix: string,
    private readonly delayQueueType: 'classic' | 'quorum' = 'classic',
  ) {}

  /** The durable topic exchange of a topic. */
  topicExchange(topic: string): string {
    return fit(`${this.prefix}${topic}`);
  }

  /** The durable queue of a group (group names have no dots, so `<topic>.<group>` is unambiguous). */
  groupQueue(topic: string, group: string): string {
    return fit(`${this.prefix}${topic}.${group}`);
  }

  /** Headers exchange in front of the delay queues: routes on the delay-bucket header. */
  delayExchange(): string {
    return fit(`${this.prefix}omnibus:delay`);
  }

  /** Direct exchange expired delayed messages are dead-lettered to; routes them home by routing key. */
  routerExchange(): string {
    return fit(`${this.prefix}omnibus:router`);
  }

  /**
   * The delay queue of one bucket, shared by every topic and group of the prefix. Quorum buckets
   * are `omnibus:delay:q:<ms>`, classic ones keep `omnibus:delay:<ms>`: a queue's type cannot
   * change, so the two kinds never share a name (a redeclare would fail with 406).
   */
  delayQueue(bucketMs: number): string {
    return fit(`${this.prefix}omnibus:delay:${this.delayBucketValue(bucketMs)}`);
  }

  /**
   * Value of the delay-bucket header that routes to a bucket queue (its binding on the delay
   * exchange). It carries the queue type too, so while classic and quorum buckets of the same
   * length coexist (a rolling change of `delayQueueType`), a message reaches only one of them.
   */
  delayBucketValue(bucketMs: number): string {
    return this.delayQueueType === 'quorum' ? `q:${bucketMs}` : String(bucketMs);
  }

  /**
   * Queue that takes and drops what the router sends it (x-max-length 0). Bound on the router
   * for every delayed-publish route: a quorum bucket dead-letters at-least-once and keeps (and
   * retries) a message that reaches no queue, so a delayed publish to a topic without groups
   * must reach at least this one.
   */
  discardQueue(): string {
    return fit(`${this.prefix}omnibus:discard`);
  }

  /** Router key that reaches one group queue only (delayed retry). */
  routeToQueue(queue: string): string {
    return fit(`q:${queue}`);
  }

  /** Router key that reaches a topic exchange, hence every group of the topic (delayed publish). */
  routeToTopic(topic: string): string {
    return fit(`t:${this.topicExchange(topic)}`);
  }
}

/** Keep a name within 255 bytes: a long one keeps its start and gets a hash of the whole as suffix. */
export function fit(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  let head = name.slice(0, MAX_NAME_BYTES - hash.length - 1);
  while (Buffer.byteLength(head) > MAX_NAME_BYTES - hash.length - 1) head = head.slice(0, -1);
  return `${head}~${hash}`;
}
