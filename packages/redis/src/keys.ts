/**
 * Key layout (prefix `omnibus:` by default):
 *
 * - `<prefix>topic:<topic>`              stream of the topic; one consumer group per Omnibus group
 * - `<prefix>retry:<topic>:<group>`      stream of redeliveries for one group only (nack), read by the
 *                                        group's consumers together with the topic stream
 * - `<prefix>scheduled`                  sorted set of delayed entries (score: due time in ms on the
 *                                        Redis clock), moved to their target stream by a Lua script
 *
 * Topic and group names never contain `:` (core forbids it), so keys cannot collide.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  topic(topic: string): string {
    return `${this.prefix}topic:${topic}`;
  }

  retry(topic: string, group: string): string {
    return `${this.prefix}retry:${topic}:${group}`;
  }

  get scheduled(): string {
    return `${this.prefix}scheduled`;
  }
}
