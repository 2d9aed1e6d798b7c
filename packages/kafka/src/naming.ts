import { createHash } from 'node:crypto';

/** Kafka refuses topic names longer than this. */
const MAX_TOPIC_LENGTH = 249;

/** How Omnibus topics and groups map to Kafka topics and consumer-group ids. */
export interface Naming {
  /** The Kafka topic of an Omnibus topic. */
  topic(topic: string): string;
  /** Where delayed publishes of `topic` wait (shared by every group of the topic). */
  delayTopic(topic: string): string;
  /** Where nacked messages of (topic, group) wait for redelivery. */
  retryTopic(topic: string, group: string): string;
  /**
   * The consumer group of (topic, group). An Omnibus group is scoped to its topic
   * (the dead-letter group has one name on every dead-letter topic), so the Kafka
   * group id includes the topic: two topics never share one Kafka group.
   */
  groupId(topic: string, group: string): string;
}

export interface NamingOptions {
  readonly prefix: string;
  readonly groupIdTemplate: string;
  readonly retryTopicTemplate: string;
  readonly delayTopicTemplate: string;
}

export function createNaming(options: NamingOptions): Naming {
  const fill = (template: string, topic: string, group = '') => options.prefix + template.replaceAll('{topic}', topic).replaceAll('{group}', group);
  return {
    topic: (topic) => fit(options.prefix + topic),
    delayTopic: (topic) => fit(fill(options.delayTopicTemplate, topic)),
    retryTopic: (topic, group) => fit(fill(options.retryTopicTemplate, topic, group)),
    groupId: (topic, group) => fill(options.groupIdTemplate, topic, group),
  };
}

/** Names over Kafka's limit keep a readable head and end in a hash of the whole name (stable, unique). */
function fit(name: string): string {
  if (name.length <= MAX_TOPIC_LENGTH) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return `${name.slice(0, MAX_TOPIC_LENGTH - hash.length - 1)}-${hash}`;
}
