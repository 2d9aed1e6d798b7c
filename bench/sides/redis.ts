// Raw Redis Streams with ioredis, written as a careful user would: a stream per topic, a consumer
// group per group (XGROUP CREATE … MKSTREAM), pipelined XADD for batches; a consumer reading with
// XREADGROUP COUNT <concurrency> BLOCK on its own connection and acknowledging every entry with
// its own XACK (pipelined on the command connection) before reading the next batch.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { decodeBody, encodeBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side } from './types.js';

export function rawRedisSide(url: string): Side {
  let redis: Redis | undefined;
  const readers = new Set<Redis>();
  const open = () => {
    if (!redis) throw new Error('raw redis: connect() first');
    return redis;
  };

  return {
    kind: 'raw',
    async connect() {
      if (redis) return;
      redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
      await redis.connect();
    },
    async prepare(target) {
      try {
        await open().xgroup('CREATE', target.topic, target.group, '0', 'MKSTREAM');
      } catch (error) {
        if (!String(error).includes('BUSYGROUP')) throw error;
      }
    },
    async publisher(target): Promise<Publisher> {
      const client = open();
      return {
        async sendBatch(bodies) {
          const pipeline = client.pipeline();
          for (const body of bodies) pipeline.xadd(target.topic, '*', 'd', encodeBody(body));
          const results = (await pipeline.exec()) ?? [];
          const failed = results.find(([error]) => error);
          if (failed) throw failed[0];
        },
        async sendOne(body) {
          await client.xadd(target.topic, '*', 'd', encodeBody(body));
        },
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const client = open();
      const reader = client.duplicate();
      readers.add(reader);
      const consumerName = `bench-${randomUUID()}`;
      let running = true;
      const loop = (async () => {
        while (running) {
          const reply = (await reader
            .xreadgroup('GROUP', target.group, consumerName, 'COUNT', concurrency, 'BLOCK', 1000, 'STREAMS', target.topic, '>')
            .catch((error: unknown) => {
              if (running) throw error;
              return null;
            })) as [string, [string, string[]][]][] | null;
          if (!reply) continue;
          const acks = client.pipeline();
          for (const [, entries] of reply) {
            for (const [id, fields] of entries) {
              const data = fields[1];
              if (data !== undefined) onBody(decodeBody(data));
              acks.xack(target.topic, target.group, id);
            }
          }
          await acks.exec();
        }
      })();
      loop.catch((error: unknown) => console.error('raw redis consumer failed:', error));
      return {
        async close() {
          running = false;
          reader.disconnect();
          readers.delete(reader);
          await loop.catch(() => {});
        },
      };
    },
    async close() {
      for (const reader of readers) reader.disconnect();
      readers.clear();
      await redis?.quit().catch(() => {});
      redis = undefined;
    },
  };
}
