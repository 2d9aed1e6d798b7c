/**
 * Where a topic and a group live on Artemis.
 *
 * - topic → the MULTICAST address `<prefix><topic>`: every queue bound to it gets every message.
 * - group → the durable queue `<prefix><topic>/<group>` on that address, consumed by its fully
 *   qualified name `<address>::<queue>` (Artemis creates it on the first attach, with the
 *   `topic` capability as a MULTICAST queue). Queue names are broker-wide, hence the topic in it.
 *
 * Topic names have no `/` and group names have no `.` or `/`, so the queue name is injective:
 * no two (topic, group) pairs, and no topic address, share a name.
 */
export class Names {
  constructor(private readonly prefix: string) {}

  address(topic: string): string {
    return `${this.prefix}${topic}`;
  }

  queue(topic: string, group: string): string {
    return `${this.prefix}${topic}/${group}`;
  }

  /** The fully-qualified queue name: attach to it to consume the group, send to it to reach only that group. */
  fqqn(topic: string, group: string): string {
    return `${this.address(topic)}::${this.queue(topic, group)}`;
  }
}

/** The `topic` capability: Artemis creates (or expects) MULTICAST addresses and queues. */
export const TOPIC_CAPABILITY = 'topic';
