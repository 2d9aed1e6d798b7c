import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { ConfigError, type Count, type GroupInspection, type TransportInspection } from '@omnibus/core';
import { isConsumerNotFound, isStreamNotFound } from './errors.js';
import type { Naming } from './naming.js';
import { isOmnibusPullConsumer } from './topology.js';

const exactly = (value: number): Count => ({ value, exact: true });

/** A group JetStream knows nothing of (no stream, no consumer): what a group created now would show. */
const emptyGroup = (group: string): GroupInspection => ({ group, waiting: exactly(0), inFlight: exactly(0), delayed: undefined, lag: exactly(0) });

/**
 * Depth and lag of `topic` from JetStream's own counters (see README "Inspection" for what each
 * figure means on NATS). Read-only API calls: nothing is created, an unknown topic has no groups,
 * an unknown group zero counts. The consumer(s) and the delay stream are read in parallel, so the
 * figures are each exact for their own moment, a few milliseconds apart at most.
 */
export async function inspectTopic(jsm: JetStreamManager, naming: Naming, topic: string, group?: string): Promise<TransportInspection> {
  const stream = naming.stream(topic);
  const subject = naming.subject(topic);
  const [groups, delayed] = await Promise.all([
    group === undefined ? allGroups(jsm, stream, subject) : oneGroup(jsm, stream, subject, group).then((g) => [g]),
    delayedPublishes(jsm, naming, topic),
  ]);
  return { topic, readAt: new Date(), delayed, groups };
}

async function oneGroup(jsm: JetStreamManager, stream: string, subject: string, group: string): Promise<GroupInspection> {
  let info: ConsumerInfo;
  try {
    info = await jsm.consumers.info(stream, group);
  } catch (error) {
    if (isStreamNotFound(error) || isConsumerNotFound(error)) return emptyGroup(group);
    throw error;
  }
  if (!isOmnibusPullConsumer(info, subject)) {
    throw new ConfigError('group', `consumer "${group}" of stream "${stream}" is not an Omnibus pull consumer of "${subject}" (filter "${info.config.filter_subject ?? ''}"): it is not a group of this topic`);
  }
  return fromConsumer(info);
}

/** Every group of the topic: the durable Omnibus pull consumers of its stream, by name. */
async function allGroups(jsm: JetStreamManager, stream: string, subject: string): Promise<GroupInspection[]> {
  const found: GroupInspection[] = [];
  try {
    for await (const info of jsm.consumers.list(stream)) {
      if (info.config.durable_name && isOmnibusPullConsumer(info, subject)) found.push(fromConsumer(info));
    }
  } catch (error) {
    if (isStreamNotFound(error)) return [];
    throw error;
  }
  return found.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/**
 * - waiting and lag: `num_pending`, the messages of the stream after the last one delivered to the
 *   consumer (never delivered to the group yet).
 * - inFlight: `num_ack_pending`, delivered and not acknowledged. JetStream keeps a nak'ed message
 *   (a delayed retry, a release for redelivery) in that set until it is delivered again and acked,
 *   and has no count of those apart: they are in inFlight, and `delayed` is undefined.
 */
function fromConsumer(info: ConsumerInfo): GroupInspection {
  return {
    group: info.name,
    waiting: exactly(info.num_pending),
    inFlight: exactly(info.num_ack_pending),
    delayed: undefined,
    lag: exactly(info.num_pending),
  };
}

/** Delayed publishes to the topic not moved yet: the delay stream's message count on the topic's delay subject. */
async function delayedPublishes(jsm: JetStreamManager, naming: Naming, topic: string): Promise<Count> {
  const subject = naming.delaySubject(topic);
  try {
    const info = await jsm.streams.info(naming.delayStream, { subjects_filter: subject });
    return exactly(info.state.subjects?.[subject] ?? 0);
  } catch (error) {
    if (isStreamNotFound(error)) return exactly(0);
    throw error;
  }
}
