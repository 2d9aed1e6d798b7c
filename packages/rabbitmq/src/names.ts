import { assertGroupName, assertTopicName, ConfigError } from '@omnibus/core';

/** AMQP exchange and queue names and routing keys are short strings: at most 255 bytes. */
const MAX_SHORT_STRING_BYTES = 255;
/**
 * Longest topic exchange or group queue name: the router reaches them with the routing keys
 * `t:<exchange>` and `q:<queue>`, which are short strings too.
 */
export const MAX_NAME_BYTES = MAX_SHORT_STRING_BYTES - 'q:'.length;

/**
 * The namespace of the transport's own objects: `<prefix>omnibus:`. Topic and group names
 * cannot contain `:`, and a prefix may not contain `omnibus:` (options.ts), so no topic,
 * group or other prefix reaches an internal object.
 */
export const INTERNAL_MARKER = 'omnibus:';

/**
 * Every broker object the transport declares, named from the prefix, topics and groups.
 * The mapping is injective by its own checks, not by trusting the caller (a transport may be
 * used without core): a topic or group name core would refuse, or a name over AMQP's limit,
 * is a ConfigError naming the field, thrown before anything reaches the broker.
 *
 * - `<prefix><topic>` is a topic exchange: topics have no `:`, so it is never internal.
 * - `<prefix><topic>.<group>` is a queue: groups have no `.`, so the last dot splits it back.
 * - `<prefix>omnibus:…` is internal: delay exchange, router, delay buckets, discard queue.
 */
export class Names {
  constructor(
    private readonly prefix: string,
    private readonly delayQueueType: 'classic' | 'quorum' = 'classic',
  ) {}

  /** The durable topic exchange of a topic. */
  topicExchange(topic: string): string {
    assertTopicName(topic);
    const name = `${this.prefix}${topic}`;
    if (name.startsWith('amq.')) {
      throw new ConfigError('topic', `"${topic}": exchange names starting with "amq." are reserved by RabbitMQ; set options.prefix`);
    }
    return fitting(name, 'topic', `the exchange of topic "${topic}"`);
  }

  /** The durable queue of a group. */
  groupQueue(topic: string, group: string): string {
    this.topicExchange(topic);
    assertGroupName(group);
    return fitting(`${this.prefix}${topic}.${group}`, 'group', `the queue of group "${group}" of topic "${topic}"`);
  }

  /**
   * The re-entry queue of a group of a reject-bounded topic: its delayed retries, immediate
   * retries and the topic's delayed publishes arrive here instead of in the bounded group queue,
   * which would refuse them when full (see bound.ts). Internal (`omnibus:`), so no topic or
   * group reaches it; one per group queue, so the mapping stays injective.
   */
  reentryQueue(topic: string, group: string): string {
    const queue = this.groupQueue(topic, group);
    const name = `${this.prefix}${INTERNAL_MARKER}reentry:${queue.slice(this.prefix.length)}`;
    // Reached by the default exchange with its own name as routing key: a short string, no router tag.
    if (Buffer.byteLength(name) <= MAX_SHORT_STRING_BYTES) return name;
    throw new ConfigError('group', `the re-entry queue of group "${group}" of bounded topic "${topic}" would be ${Buffer.byteLength(name)} bytes, over AMQP's ${MAX_SHORT_STRING_BYTES}: use a shorter prefix, topic or group`);
  }

  /** Headers exchange in front of the delay queues: routes on the delay-bucket header. */
  delayExchange(): string {
    return `${this.prefix}${INTERNAL_MARKER}delay`;
  }

  /** Direct exchange expired delayed messages are dead-lettered to; routes them home by routing key. */
  routerExchange(): string {
    return `${this.prefix}${INTERNAL_MARKER}router`;
  }

  /**
   * The delay queue of one bucket, shared by every topic and group of the prefix. Quorum buckets
   * are `omnibus:delay:q:<ms>`, classic ones keep `omnibus:delay:<ms>`: a queue's type cannot
   * change, so the two kinds never share a name (a redeclare would fail with 406).
   */
  delayQueue(bucketMs: number): string {
    return `${this.prefix}${INTERNAL_MARKER}delay:${this.delayBucketValue(bucketMs)}`;
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
    return `${this.prefix}${INTERNAL_MARKER}discard`;
  }

  /** Router key that reaches one group queue only (delayed retry); `queue` is a groupQueue() name. */
  routeToQueue(queue: string): string {
    return `q:${queue}`;
  }

  /** Router key that reaches a topic exchange, hence every group of the topic (delayed publish). */
  routeToTopic(topic: string): string {
    return `t:${this.topicExchange(topic)}`;
  }
}

/** `name` when it is at most MAX_NAME_BYTES, else a ConfigError on `field`: nothing is ever cut or hashed. */
function fitting(name: string, field: string, what: string): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short names skip the encoding.
  if (name.length * 3 <= MAX_NAME_BYTES) return name;
  const bytes = Buffer.byteLength(name);
  if (bytes <= MAX_NAME_BYTES) return name;
  throw new ConfigError(field, `${what} would be "${name.slice(0, 40)}…", ${bytes} bytes: RabbitMQ names hold at most ${MAX_NAME_BYTES} (AMQP's 255 less the router's 2-byte key tag); use a shorter prefix, topic or group`);
}
