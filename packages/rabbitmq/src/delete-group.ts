import { ConfigError, ConnectionError, type Logger } from '@omnibus/core';
import { closeChannel, openChannel, type ChannelHandle } from './channels.js';
import type { ConnectionManager } from './connection.js';
import { replyCode, type Scrubber } from './errors.js';
import type { Names } from './names.js';
import type { Topology } from './topology.js';

export interface DeleteGroupDeps {
  readonly names: Names;
  readonly connection: ConnectionManager;
  readonly topology: Topology;
  readonly connectTimeoutMs: number;
  readonly scrub: Scrubber;
  readonly logger: Logger;
}

/** What deleting a group did (for tests and logs; deleting again does nothing). */
export interface DeletedGroup {
  /** The group queue existed and was deleted, with its messages and bindings. */
  readonly queue: boolean;
  /** Messages it held when deleted (ready ones, as the broker counts them in queue.delete-ok). */
  readonly messages: number;
}

/**
 * Remove the group queue of `topic`/`group` and what reaches it (with the group's re-entry queue
 * of a reject-bounded topic, always looked for: the process deleting a group, e.g. the CLI, may
 * not know the topic's bound): the queue (its ready and
 * unacknowledged messages, and with it its bindings to the topic exchange and to the router, i.e.
 * its retry path). Its delayed retries wait in the delay buckets shared by every group, which no
 * client can take single messages out of: the router sends them to the discard queue instead
 * (Topology.discardRetriesOf), bound before the queue goes so none comes due in between.
 *
 * Never the topic exchange, another group's queue, or the delay buckets. Idempotent: a missing
 * queue is left alone and nothing is declared. Refused (ConfigError on `group`) while any
 * consumer reads the queue, this process's or another's: `queue.delete` with if-unused is
 * refused by the broker itself, so no consumer can attach between a check and the delete.
 */
export async function deleteGroup(deps: DeleteGroupDeps, topic: string, group: string): Promise<DeletedGroup> {
  const queue = deps.names.groupQueue(topic, group);
  const reentry = reentryQueueOf(deps.names, topic, group);
  const model = await deps.connection.waitForModel(deps.connectTimeoutMs);
  let handle: ChannelHandle | undefined;
  const channel = async () => {
    if (!handle?.open) handle = await openChannel(model, false, deps.scrub, deps.logger, `delete ${queue}`);
    return handle.channel;
  };
  const check = async (name: string) =>
    (await channel()).checkQueue(name).catch((cause: unknown) => {
      if (replyCode(cause) === 404) return undefined;
      throw cause;
    });
  const remove = async (name: string) =>
    (await channel()).deleteQueue(name, { ifUnused: true }).catch((cause: unknown) => {
      // A consumer attached after the check (406); or the queue went meanwhile (404 on older brokers).
      if (replyCode(cause) === 406) throw busy(group, name, undefined);
      if (replyCode(cause) === 404) return { messageCount: 0 };
      throw cause;
    });
  try {
    const existing = await check(queue);
    const existingReentry = reentry === undefined ? undefined : await check(reentry);
    if (existing === undefined && existingReentry === undefined) return { queue: false, messages: 0 };
    if (existing && existing.consumerCount > 0) throw busy(group, queue, existing.consumerCount);
    if (reentry && existingReentry && existingReentry.consumerCount > 0) throw busy(group, reentry, existingReentry.consumerCount);
    await deps.topology.discardRetriesOf(queue);
    const deleted = existing === undefined ? 0 : (await remove(queue)).messageCount;
    const reentered = reentry === undefined || existingReentry === undefined ? 0 : (await remove(reentry)).messageCount;
    deps.logger.info({ queue, messages: deleted + reentered }, 'rabbitmq: group deleted');
    return { queue: existing !== undefined, messages: deleted + reentered };
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    const safe = deps.scrub.error(cause);
    throw new ConnectionError(`rabbitmq: cannot delete group "${group}" of topic "${topic}": ${safe.message}`, { cause: safe });
  } finally {
    deps.topology.forgetGroup(queue);
    await closeChannel(handle);
  }
}

/** The re-entry queue's name, or undefined for a group whose name leaves no room for one (it never had one). */
function reentryQueueOf(names: Names, topic: string, group: string): string | undefined {
  try {
    return names.reentryQueue(topic, group);
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}

function busy(group: string, queue: string, consumers: number | undefined): ConfigError {
  const who = consumers === undefined ? 'a consumer' : `${consumers} consumer${consumers === 1 ? '' : 's'}`;
  return new ConfigError('group', `rabbitmq: group "${group}" is being read (${who} on queue "${queue}"); close its subscriptions before deleting it`);
}
