import type { ChannelModel } from 'amqplib';
import { ConnectionError, type Count, type GroupInspection, type Logger, type TransportInspection } from '@omnibus/core';
import type { TopicBounds } from './bound.js';
import { closeChannel, openChannel, type ChannelHandle } from './channels.js';
import type { ConnectionManager } from './connection.js';
import { replyCode, type Scrubber } from './errors.js';
import type { ManagementApi } from './management.js';
import type { Names } from './names.js';

const exactly = (value: number): Count => ({ value, exact: true });

/**
 * Depth of a topic's groups, read from the broker (see README "Inspection"):
 *
 * - waiting: `queue.declare` passive (AMQP) answers with the queue's ready messages, counted by
 *   the queue itself at that moment: exact. Passive never creates: a missing queue is a 404 (on
 *   a channel of its own, which the 404 closes), reported as zero counts.
 * - inFlight: AMQP does not report unacknowledged messages; the management API does, from the
 *   queue's counters sampled every collect_statistics_interval: an estimate (up to 5 s old by
 *   default). Without a usable management API: undefined.
 * - delayed (topic and group): undefined. Delayed publishes and delayed retries wait in delay
 *   buckets shared by every topic and group of the prefix; a bucket's count cannot be split.
 * - lag: undefined. A queue has no log position to be behind: its backlog is waiting + inFlight.
 *
 * A reject-bounded topic's group also waits in its re-entry queue (retries and delayed publishes
 * that came due, see bound.ts): both queues are read and added up.
 *
 * The groups of a topic (no `group` asked for) are the queues bound to its exchange with `#`,
 * from the management API; without it, the groups this transport declared (`known`).
 */
export class Inspector {
  constructor(
    private readonly names: Names,
    private readonly connection: ConnectionManager,
    private readonly management: ManagementApi | undefined,
    private readonly connectTimeoutMs: number,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
    private readonly bounds: TopicBounds,
  ) {}

  async inspect(topic: string, group: string | undefined, known: () => readonly string[]): Promise<TransportInspection> {
    // Names are checked before anything reaches the broker (ConfigError on topic or group).
    if (group !== undefined) this.names.groupQueue(topic, group);
    else this.names.topicExchange(topic);
    const model = await this.connection.waitForModel(this.connectTimeoutMs);
    const groups = group !== undefined ? [group] : await this.groupsOf(topic, known);
    const reader = new PassiveReader(model, this.scrub, this.logger);
    try {
      const inspected: GroupInspection[] = [];
      for (const name of groups) inspected.push(await this.group(reader, topic, name));
      return { topic, readAt: new Date(), delayed: undefined, groups: inspected };
    } finally {
      await reader.close();
    }
  }

  private async group(reader: PassiveReader, topic: string, group: string): Promise<GroupInspection> {
    const queue = this.names.groupQueue(topic, group);
    const reentry = this.bounds.rejects(topic) === undefined ? undefined : this.names.reentryQueue(topic, group);
    const ready = await reader.readyMessages(queue);
    if (ready === undefined) return { group, waiting: exactly(0), inFlight: exactly(0), delayed: undefined, lag: undefined };
    const reentryReady = reentry === undefined ? 0 : ((await reader.readyMessages(reentry)) ?? 0);
    let unacknowledged = await this.unacknowledged(queue);
    if (reentry !== undefined && unacknowledged !== undefined) {
      const more = await this.unacknowledged(reentry);
      unacknowledged = more === undefined ? undefined : unacknowledged + more;
    }
    return {
      group,
      waiting: exactly(ready + reentryReady),
      inFlight: unacknowledged === undefined ? undefined : { value: unacknowledged, exact: false },
      delayed: undefined,
      lag: undefined,
    };
  }

  private async unacknowledged(queue: string): Promise<number | undefined> {
    const managed = await this.management?.queue(queue);
    // 'missing' although AMQP just saw the queue: deleted meanwhile, or a managementUrl that is not this broker's. Unknown either way.
    return managed === undefined || managed === 'missing' ? undefined : managed.unacknowledged;
  }

  /** The groups of a topic: queues `<exchange>.<group>` bound with `#` (management API), else those this transport declared. */
  private async groupsOf(topic: string, known: () => readonly string[]): Promise<string[]> {
    const exchange = this.names.topicExchange(topic);
    const bound = await this.management?.queuesBoundTo(exchange, '#');
    if (bound === 'missing') return [];
    if (bound === undefined) return [...new Set(known())].sort();
    const groups: string[] = [];
    for (const queue of bound) {
      const group = queue.startsWith(`${exchange}.`) ? queue.slice(exchange.length + 1) : undefined;
      // The last dot splits a group queue's name (groups have no dot); anything else bound there is not ours.
      if (group !== undefined && /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(group)) groups.push(group);
    }
    return groups.sort();
  }
}

/** Passive declares on a channel of their own; a 404 closes that channel, so the next one opens another. */
class PassiveReader {
  private handle: ChannelHandle | undefined;

  constructor(
    private readonly model: ChannelModel,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
  ) {}

  /** Ready messages of the queue; undefined when it does not exist. */
  async readyMessages(queue: string): Promise<number | undefined> {
    try {
      if (!this.handle?.open) this.handle = await openChannel(this.model, false, this.scrub, this.logger, 'inspect');
      return (await this.handle.channel.checkQueue(queue)).messageCount;
    } catch (cause) {
      if (replyCode(cause) === 404) return undefined;
      const safe = this.scrub.error(cause);
      throw new ConnectionError(`rabbitmq: cannot inspect queue "${queue}": ${safe.message}`, { cause: safe });
    }
  }

  close(): Promise<void> {
    return closeChannel(this.handle);
  }
}
