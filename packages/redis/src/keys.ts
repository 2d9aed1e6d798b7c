import { assertGroupName, assertTopicName } from '@omnibus/core';

/**
 * Key layout (prefix `omnibus:` by default):
 *
 * - `<prefix>topic:<topic>`              stream of the topic; one consumer group per Omnibus group
 * - `<prefix>retry:<topic>:<group>`      stream of redeliveries for one group only (nack), read by the
 *                                        group's consumers together with the topic stream
 * - `<prefix>scheduled`                  sorted set of delayed entries (score: due time in ms on the
 *                                        Redis clock), moved to their target stream by a Lua script
 * - `<prefix>scheduled:invalid`          sorted set of scheduled entries that could not be moved
 *
 * Why no two names share a key:
 * - Topic and group names are checked here, at the transport's own boundary (not only by core):
 *   they never contain `:`. So `topic:` + one name and `retry:` + two names separated by `:` can
 *   each be read back into their names, and no name can turn one kind of key into another: a
 *   topic key always starts with `topic:`, a retry key with `retry:`, an internal key with
 *   neither (any new internal key must keep to that).
 * - A prefix never contains `topic:` or `retry:` (options.ts). Two prefixes whose keys meet would
 *   need the longer one to be the shorter one followed by `topic:…` or `retry:…`, so buses with
 *   different prefixes never share a key either.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  /** The topic's stream. A ConfigError (field `topic`) for a name that is not a valid topic name. */
  topic(topic: string): string {
    assertTopicName(topic);
    return `${this.prefix}topic:${topic}`;
  }

  /** The group's redelivery stream. A ConfigError (field `topic` or `group`) for an invalid name. */
  retry(topic: string, group: string): string {
    assertTopicName(topic);
    assertGroupName(group);
    return `${this.retryPrefix(topic)}${group}`;
  }

  /** What every redelivery key of the topic starts with (its group's name follows). */
  retryPrefix(topic: string): string {
    assertTopicName(topic);
    return `${this.prefix}retry:${topic}:`;
  }

  get scheduled(): string {
    return `${this.prefix}scheduled`;
  }

  get invalidScheduled(): string {
    return `${this.prefix}scheduled:invalid`;
  }
}

/** Parts of a prefix that would let its keys meet those of a shorter prefix (see Keys). */
export const RESERVED_IN_PREFIX = ['topic:', 'retry:'] as const;
