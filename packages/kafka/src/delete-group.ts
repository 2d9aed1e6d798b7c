import { ConfigError, pause } from '@omnibus/core';
import type { KafkaDriver } from './driver/driver.js';
import type { GroupNames } from './topology.js';

/** What deleting a group removed (for tests and logs; deleting again removes nothing). */
export interface DeletedGroup {
  /** The consumer group existed (its committed offsets on the main, delay and retry topics are gone). */
  readonly consumerGroup: boolean;
  /** The group's retry topic existed (deleted with its delayed retries). */
  readonly retryTopic: boolean;
}

/** How often, and how long, to look whether the broker finished deleting the retry topic. */
const GONE_POLL_MS = 50;

/**
 * Remove the consumer group of (topic, group) and its retry topic, the only things Kafka keeps
 * for that group alone: its committed offsets (on the main, delay and retry topics) and its
 * nacked messages waiting for redelivery. Never the main topic, the delay topic (shared by the
 * topic's groups), or another group. Idempotent; creates nothing.
 *
 * The group goes first: the broker refuses to delete a group with members (in another process:
 * a ConfigError, and nothing is deleted). Kafka deletes a topic asynchronously, so this waits
 * until the retry topic is gone from the cluster's metadata: a group made again with the same
 * name then gets a new, empty retry topic and not one marked for deletion.
 */
export async function deleteGroup(driver: KafkaDriver, names: GroupNames, describe: { topic: string; group: string }, timeoutMs: number): Promise<DeletedGroup> {
  const deletion = await driver.deleteGroup(names.groupId);
  if (deletion === 'in-use') {
    throw new ConfigError('group', `group "${describe.group}" of topic "${describe.topic}" has members (another process or client reads it): close them before deleting the group; nothing was deleted`);
  }
  const retryTopic = (await driver.listTopics()).includes(names.retry);
  if (retryTopic) {
    await driver.deleteTopics([names.retry]);
    await waitUntilGone(driver, names.retry, timeoutMs);
  }
  return { consumerGroup: deletion === 'deleted', retryTopic };
}

async function waitUntilGone(driver: KafkaDriver, topic: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await driver.listTopics()).includes(topic)) {
    if (Date.now() > deadline) throw new Error(`the broker had not finished deleting topic "${topic}" after ${timeoutMs} ms`);
    // The broker's deletion, not our code, is what this waits for.
    await pause(GONE_POLL_MS);
  }
}
