// Remove what a benchmark run left on the shared brokers: every queue, exchange, topic, group,
// stream and key whose name contains the run's marker (both the raw side's and whatever the
// Omnibus transport created for the benchmark topics). 50,000 × 1 KiB per run adds up otherwise.
// Only names containing the marker are touched.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import type { BrokerName } from '../lib/config.js';
import { cleanAmqp10 } from './amqp10.js';
import { kafkaClient } from './kafka.js';
import { natsServers } from './nats.js';
import { cleanSqs } from './sqs.js';

const run = promisify(execFile);

/** Names listed by rabbitmqctl (there is no management plugin on these machines); [] if unavailable. */
async function rabbitctlList(what: 'list_queues' | 'list_exchanges'): Promise<string[]> {
  try {
    const { stdout } = await run('rabbitmqctl', ['-q', '--no-table-headers', what, 'name'], { timeout: 60_000 });
    return stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  } catch {
    return [];
  }
}

/** Names the caller knows it created (listing needs rabbitmqctl, which may be missing). */
export interface KnownRabbitNames {
  readonly queues: readonly string[];
  readonly exchanges: readonly string[];
}

async function cleanRabbit(url: string, marker: string, known: KnownRabbitNames): Promise<number> {
  const [queues, exchanges] = await Promise.all([rabbitctlList('list_queues'), rabbitctlList('list_exchanges')]);
  const mine = (names: string[]) => names.filter((n) => n.includes(marker));
  const connection = await amqp.connect(url);
  let removed = 0;
  try {
    // Each delete on its own channel: a 404 closes the channel it happened on.
    for (const queue of new Set([...mine(queues), ...known.queues])) {
      const ch = await connection.createChannel();
      if (await ch.deleteQueue(queue).then(() => true, () => false)) removed += 1;
      await ch.close().catch(() => {});
    }
    for (const exchange of new Set([...mine(exchanges), ...known.exchanges])) {
      const ch = await connection.createChannel();
      if (await ch.deleteExchange(exchange).then(() => true, () => false)) removed += 1;
      await ch.close().catch(() => {});
    }
  } finally {
    await connection.close().catch(() => {});
  }
  return removed;
}

async function cleanKafka(url: string, marker: string): Promise<number> {
  const admin = kafkaClient(url, 'omnibench-cleanup').admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(marker));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => {});
    const topics = (await admin.listTopics()).filter((t) => t.includes(marker));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    return groups.length + topics.length;
  } finally {
    await admin.disconnect();
  }
}

async function cleanRedis(url: string, marker: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${marker}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => {});
  }
  return removed;
}

async function cleanNats(url: string, marker: string): Promise<number> {
  const nc = await natsConnect({ servers: natsServers(url) });
  let removed = 0;
  try {
    const jsm = await jetstreamManager(nc);
    for await (const info of jsm.streams.list()) {
      const name = info.config.name;
      const subjects = info.config.subjects ?? [];
      if (name.includes(marker) || (subjects.length > 0 && subjects.every((s) => s.includes(marker)))) {
        await jsm.streams.delete(name);
        removed += 1;
        continue;
      }
      // A shared stream (e.g. one stream for every topic under a prefix): drop only our consumers and subjects.
      for await (const consumer of jsm.consumers.list(name)) {
        if (consumer.name.includes(marker)) {
          await jsm.consumers.delete(name, consumer.name).catch(() => {});
          removed += 1;
        }
      }
      const detailed = await jsm.streams.info(name, { subjects_filter: '>' }).catch(() => undefined);
      for (const subject of Object.keys(detailed?.state.subjects ?? {})) {
        if (subject.includes(marker)) {
          await jsm.streams.purge(name, { filter: subject });
          removed += 1;
        }
      }
    }
  } finally {
    await nc.close();
  }
  return removed;
}

/** Delete everything named with `marker` on this broker; returns how many objects were removed. */
export async function cleanup(broker: BrokerName, url: string, marker: string, knownRabbitNames: KnownRabbitNames = { queues: [], exchanges: [] }): Promise<number> {
  switch (broker) {
    case 'rabbitmq':
      return cleanRabbit(url, marker, knownRabbitNames);
    case 'kafka':
      return cleanKafka(url, marker);
    case 'redis':
      return cleanRedis(url, marker);
    case 'nats':
      return cleanNats(url, marker);
    case 'amqp10':
      return cleanAmqp10(url, marker);
    case 'sqs':
      return cleanSqs(url, marker);
  }
}
