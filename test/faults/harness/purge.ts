// Remove what a run of the fault suite left on a shared broker (streams, keys, queues, exchanges
// under this run's prefix), so repeated CI runs do not pile up state. Best effort: a failure is
// reported, never thrown. Private brokers need none of this: their data dir is deleted.
import { spawnSync } from 'node:child_process';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Redis: UNLINK every key under `prefix`. */
export async function purgeRedis(url: string, prefix: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  try {
    await redis.connect();
    let removed = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
    return `removed ${removed} keys ${prefix}*`;
  } catch (error) {
    return `could not purge ${prefix}*: ${message(error)}`;
  } finally {
    redis.disconnect();
  }
}

/** NATS: delete every JetStream stream whose name starts with `streamPrefix`. */
export async function purgeNats(url: string, streamPrefix: string): Promise<string> {
  const parsed = new URL(url);
  let nc: Awaited<ReturnType<typeof natsConnect>> | undefined;
  try {
    nc = await natsConnect({ servers: `${parsed.hostname}:${parsed.port || 4222}`, timeout: 3_000, reconnect: false });
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(streamPrefix)) names.push(name);
    for (const name of names) await jsm.streams.delete(name);
    return `deleted ${names.length} streams ${streamPrefix}*`;
  } catch (error) {
    return `could not purge streams ${streamPrefix}*: ${message(error)}`;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

/**
 * RabbitMQ: delete every queue and exchange whose name starts with `prefix`. AMQP cannot list them,
 * so the names come from `rabbitmqctl list_queues/list_exchanges` (read-only) when it can reach the
 * node; the deletions go over AMQP. Skipped when rabbitmqctl is unavailable (e.g. a Docker broker).
 */
export async function purgeRabbitMQ(url: string, prefix: string): Promise<string> {
  const list = (what: 'list_queues' | 'list_exchanges'): string[] | undefined => {
    const result = spawnSync('rabbitmqctl', ['-q', what, 'name'], { encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) return undefined;
    return result.stdout
      .split('\n')
      .map((line) => line.trim())
      .filter((name) => name.startsWith(prefix));
  };
  const queues = list('list_queues');
  const exchanges = list('list_exchanges');
  if (!queues || !exchanges) return 'skipped: rabbitmqctl cannot list the node (not installed or no access)';
  try {
    const connection = await amqpConnect(url);
    try {
      const channel = await connection.createChannel();
      for (const queue of queues) await channel.deleteQueue(queue);
      for (const exchange of exchanges) await channel.deleteExchange(exchange);
      await channel.close();
    } finally {
      await connection.close();
    }
    return `deleted ${queues.length} queues and ${exchanges.length} exchanges ${prefix}*`;
  } catch (error) {
    return `could not purge ${prefix}*: ${message(error)}`;
  }
}
