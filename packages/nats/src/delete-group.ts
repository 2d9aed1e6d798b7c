import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { ConfigError } from '@omnibus/core';
import { isConsumerNotFound, isStreamNotFound } from './errors.js';
import type { Naming } from './naming.js';
import { isOmnibusPullConsumer } from './topology.js';

/**
 * Remove `group` of `topic`: its durable consumer. That is everything JetStream keeps for a group:
 * its position, its unacknowledged deliveries and its delayed retries (a nak with a delay stays in
 * the consumer's pending set until redelivered) all go with it; there is no retry stream or other
 * per-group object on NATS. The topic's stream, its messages (on an interest stream the server
 * then drops the messages no other group still needs), its delayed publishes and the other groups
 * stay. Creates nothing; a topic or group that does not exist is nothing to do.
 *
 * @returns whether a consumer was deleted (false: there was none).
 */
export async function deleteGroup(jsm: JetStreamManager, naming: Naming, topic: string, group: string): Promise<boolean> {
  const stream = naming.stream(topic);
  const subject = naming.subject(topic);
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, group);
  } catch (error) {
    if (isStreamNotFound(error) || isConsumerNotFound(error)) return false;
    throw error;
  }
  // Never someone else's consumer that happens to have the group's name.
  if (!isOmnibusPullConsumer(info, subject)) {
    throw new ConfigError('group', `consumer "${group}" of stream "${stream}" is not an Omnibus pull consumer of "${subject}" (filter "${info.config.filter_subject ?? ''}"): not deleted`);
  }
  try {
    return await jsm.consumers.delete(stream, group);
  } catch (error) {
    // Deleted by someone else meanwhile: what was asked for is done.
    if (isStreamNotFound(error) || isConsumerNotFound(error)) return false;
    throw error;
  }
}
