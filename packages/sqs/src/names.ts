import { createHash } from 'node:crypto';
import { assertGroupName, assertTopicName } from '@omnibus/core';

/** SQS: queue names are 1–80 letters, digits, `-` and `_`. */
const MAX_QUEUE_NAME = 80;
/** Hex digits of each hash in a queue name (48 bits: a collision needs ~16 million names of one prefix). */
const HASH_LENGTH = 12;

const hash = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, HASH_LENGTH);

/**
 * Queue names. One queue per group of a topic:
 *
 *   <prefix><topic hash>-<group hash>-<readable topic>_<readable group>
 *
 * The two hashes are the queue's identity (topic and group names have characters and lengths SQS
 * names cannot hold: dots, up to 200 characters); the rest, cut to SQS's 80 characters, is for
 * people reading the console. Every queue of a topic starts with `<prefix><topic hash>-`, which is
 * how a publisher lists the topic's groups (ListQueues with that prefix). Names are case-sensitive
 * in SQS and hashed as given, so `Orders` and `orders` never share a queue.
 */
export class QueueNames {
  constructor(readonly prefix: string) {}

  /** The ListQueues prefix of every group queue of `topic`. */
  topicPrefix(topic: string): string {
    assertTopicName(topic, 'topic');
    return `${this.prefix}${hash(topic)}-`;
  }

  /** The queue of `group` of `topic`. */
  queue(topic: string, group: string): string {
    assertGroupName(group, 'group');
    const fixed = `${this.topicPrefix(topic)}${hash(group)}-`;
    const readable = `${topic.replace(/\./g, '_')}_${group}`;
    return `${fixed}${readable}`.slice(0, MAX_QUEUE_NAME);
  }

  /** The queue name at the end of a queue URL. */
  static nameOf(queueUrl: string): string {
    return queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
  }
}
