import type { GroupInspection, TransportInspection } from '@omnibus/core';
import { isMissingResource, type Management } from './management.js';
import type { Names } from './names.js';

/** The three counts Artemis keeps per queue; undefined when the queue does not exist. */
async function queueCounts(management: Management, queue: string): Promise<{ messages: number; delivering: number; scheduled: number } | undefined> {
  const resource = `queue.${queue}`;
  try {
    const [messages, delivering, scheduled] = await Promise.all(['messageCount', 'deliveringCount', 'scheduledCount'].map((name) => management.attribute(resource, name)));
    return { messages: Number(messages), delivering: Number(delivering), scheduled: Number(scheduled) };
  } catch (error) {
    // Artemis answers "Problem while retrieving attribute" for a queue it does not have.
    if (isMissingResource(error)) return undefined;
    throw error;
  }
}

/**
 * Depth from Artemis' own queue counts (management API): waiting = messageCount − delivering −
 * scheduled, in flight = deliveringCount, delayed = scheduledCount (which on Artemis also holds the
 * group's copies of delayed publishes: an address keeps no messages of its own, so the topic-level
 * `delayed` is undefined). The groups of a topic are the queues of its address named `<topic>/…`.
 */
export async function inspectTopic(management: Management, names: Names, topic: string, group: string | undefined): Promise<TransportInspection> {
  const readAt = new Date();
  let groups: string[];
  if (group !== undefined) {
    groups = [group];
  } else {
    const queues = await management.attribute(`address.${names.address(topic)}`, 'queueNames').catch((error: unknown) => {
      if (isMissingResource(error)) return [];
      throw error;
    });
    const own = names.queue(topic, '');
    groups = (Array.isArray(queues) ? queues.map(String) : []).filter((queue) => queue.startsWith(own)).map((queue) => queue.slice(own.length));
  }
  const inspections = await Promise.all(
    groups.map(async (name): Promise<GroupInspection> => {
      const counts = (await queueCounts(management, names.queue(topic, name))) ?? { messages: 0, delivering: 0, scheduled: 0 };
      const exact = (value: number) => ({ value: Math.max(0, value), exact: true });
      return {
        group: name,
        waiting: exact(counts.messages - counts.delivering - counts.scheduled),
        inFlight: exact(counts.delivering),
        delayed: exact(counts.scheduled),
        lag: undefined,
      };
    }),
  );
  return { topic, readAt, delayed: undefined, groups: inspections };
}
