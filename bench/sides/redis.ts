// Raw Redis Streams with ioredis, written as a careful user would: a stream per topic, a consumer
// group per group (XGROUP CREATE … MKSTREAM), pipelined XADD for batches; a consumer reading with
// XREADGROUP COUNT <concurrency> BLOCK on its own connection and acknowledging every entry with
// its own XACK (pipelined on the command connection) before reading the next batch.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { decodeBody, encodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side } from './types.js';

/** XADD arguments after the id: the body, with the envelope as one JSON field before it (--raw-envelope). */
function entryFields(topic: string, body: BenchBody, envelope: boolean): (string | Buffer)[] {
  if (!envelope) return ['d', encodeBody(body)];
  const headers = envelopeHeaders(topic);
  return ['id', headers['ce-id'] as string, 'headers', JSON.stringify(headers), 'd', encodeBody(body)];
}

export function rawRedisSide(url: string, options: { rawEnvelope: boolean }): Side {
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
          for (const body of bodies) pipeline.xadd(target.topic, '*', ...entryFields(target.topic, body, options.rawEnvelope));
          const results = (await pipeline.exec()) ?? [];
          const failed = results.find(([error]) => error);
          if (failed) throw failed[0];
        },
        async sendOne(body) {
          await client.xadd(target.topic, '*', ...entryFields(target.topic, body, options.rawEnvelope));
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
              // Field pairs: the body is the value after 'd'; the envelope (if any) is JSON after 'headers'.
              let data: string | undefined;
              for (let i = 0; i + 1 < fields.length; i += 2) {
                if (fields[i] === 'd') data = fields[i + 1];
                else if (fields[i] === 'headers') JSON.parse(fields[i + 1] as string);
              }
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
