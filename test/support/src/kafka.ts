// Kafka client settings and cleanup shared by the Kafka package tests and the Kafka contract suite.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { KafkaOptionsInput } from '@omnibus/kafka';

/** Fast settings for tests: quick joins, rebalances and commits (tests open many short-lived subscriptions). */
export const fastKafkaOptions: KafkaOptionsInput = {
  partitions: 2,
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 100,
  maxWaitTimeMs: 100,
  commitIntervalMs: 20,
  retryInitialDelayMs: 50,
  closeTimeoutMs: 5_000,
};

/** A kafkajs admin client (not connected yet) for `brokers` (host:port). */
export function kafkaAdmin(brokers: readonly string[]): Admin {
  return new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING }).admin();
}

/** Delete every topic and group whose name starts with `prefix` (end of a test file). */
export async function cleanUpKafka(brokers: readonly string[], prefix: string): Promise<void> {
  const admin = kafkaAdmin(brokers);
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}
