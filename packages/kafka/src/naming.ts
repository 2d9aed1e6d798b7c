import { ConfigError } from '@omnibus/core';

/** Kafka refuses topic names longer than this. */
export const MAX_KAFKA_TOPIC_LENGTH = 249;

/**
 * Where the transport's own topics live. Core lets topic names start with a letter or a
 * digit only, so no user topic (nor one Kafka folds onto it, `.` and `_` alike) starts with
 * `_`: nothing published to a user topic can land in an internal one, or the reverse.
 */
const INTERNAL_PREFIX = '_omnibus.';

/**
 * How Omnibus topics and groups map to Kafka topics and consumer-group ids. Every name
 * starts with the transport's `prefix`. Each method throws a ConfigError (before any broker
 * call) when the Kafka name would exceed Kafka's 249 characters.
 */
export interface Naming {
  /** The Kafka topic of an Omnibus topic: `<prefix><topic>`, the name as given. */
  topic(topic: string): string;
  /** Where delayed publishes of `topic` wait (shared by every group of the topic): `<prefix>_omnibus.delay.<topic'>`. */
  delayTopic(topic: string): string;
  /** Where nacked messages of (topic, group) wait for redelivery: `<prefix>_omnibus.retry.<topic'>.<group'>`. */
  retryTopic(topic: string, group: string): string;
  /**
   * The consumer group of (topic, group): `<prefix><topic>.<group>`. An Omnibus group is scoped
   * to its topic (the dead-letter group has one name on every dead-letter topic), so the id
   * includes the topic. Group names have no dots, so the last dot splits the id back into
   * (topic, group): two pairs never share a Kafka group. The member reading the delay and
   * retry topics is this same group, so there is no second group id to collide with.
   * (The 0.1 default, so existing groups keep their committed offsets.)
   */
  groupId(topic: string, group: string): string;
  /** A Kafka topic as a user knows it: `topic "orders"` for a user topic, `Kafka topic "…"` for any other. */
  describeTopic(kafkaTopic: string): string;
}

/**
 * A topic or group name in an internal topic name, written so that the whole name is
 * unambiguous even to Kafka, which treats `.` and `_` as the same character: `-` becomes
 * `--` and `_` becomes `-u`, so the result has no `_` at all. With no `_`, two results are
 * equal under Kafka's folding only if they are equal; and the escaping is reversible, so
 * they are equal only if the names were. A group name has no `.` either, so in
 * `<topic'>.<group'>` the last dot is the separator.
 */
export function escapeName(name: string): string {
  return name.replace(/[-_]/g, (char) => (char === '-' ? '--' : '-u'));
}

/** What Kafka compares topic names by: `.` and `_` are one character to it (metric names). */
export function foldTopicName(name: string): string {
  return name.replaceAll('.', '_');
}

export function createNaming(options: { readonly prefix: string }): Naming {
  const { prefix } = options;
  return {
    topic: (topic) => {
      // Core validates names; a caller of the transport itself must not reach the internal namespace either.
      if (!startsWithLetterOrDigit(topic)) throw new ConfigError('topic', `"${topic}" is not a valid topic name: it must start with a letter or a digit`);
      return fit(`${prefix}${topic}`, 'topic', () => `topic "${topic}"`);
    },
    delayTopic: (topic) => fit(`${prefix}${INTERNAL_PREFIX}delay.${escapeName(topic)}`, 'topic', () => `the delay topic of topic "${topic}"`),
    retryTopic: (topic, group) =>
      fit(`${prefix}${INTERNAL_PREFIX}retry.${escapeName(topic)}.${escapeName(group)}`, 'group', () => `the retry topic of group "${group}" of topic "${topic}"`),
    groupId: (topic, group) => `${prefix}${topic}.${group}`,
    describeTopic: (kafkaTopic) => {
      const rest = kafkaTopic.startsWith(prefix) ? kafkaTopic.slice(prefix.length) : undefined;
      return rest !== undefined && /^[A-Za-z0-9]/.test(rest) ? `topic "${rest}"` : `Kafka topic "${kafkaTopic}"`;
    },
  };
}

/** A char-code test, not a regular expression: this runs for every published message. */
function startsWithLetterOrDigit(name: string): boolean {
  const code = name.charCodeAt(0);
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function fit(name: string, field: string, what: () => string): string {
  if (name.length <= MAX_KAFKA_TOPIC_LENGTH) return name;
  throw new ConfigError(
    field,
    `${what()} needs the Kafka topic "${name}", ${name.length} characters, over Kafka's ${MAX_KAFKA_TOPIC_LENGTH} ` +
      '(internal names escape "-" and "_" as two characters): use a shorter topic or group name, or a shorter options.prefix',
  );
}
