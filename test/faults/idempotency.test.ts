// Idempotent consumers under the fault suite's consumer SIGKILL (scenario 3), on every broker,
// against the PostgreSQL and Redis stores at once (two groups of one topic). The child is killed
// while handlers hang between their effect and the commit of their key. What the docs promise:
// - PostgreSQL, effect and commitIn in one transaction: every message's effect exactly once;
// - Redis, effect outside the store: every message's effect at least once, and more than once
//   only for a message killed between its effect and its commit (never for a committed one).
// (The memory store lives in the consumer's process and dies with it: its promise, duplicates
// skipped within one process, is tested under memory:// fault injection in packages/core.)
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBus, defineTopic, loadTransportModule, Signal, silentLogger } from '@omnibus/core';
import { createPostgresIdempotencyStore } from '@omnibus/idempotency-postgres';
import { BROKER_KINDS, configuredBroker, describeWithBroker, fastKafkaOptions, uniqueName } from '@omnibus/test-support';
import { ConsumerChild } from './harness/child.js';
import { startIdempotentConsumers, type IdempotentChildConfig } from './harness/idempotent-child.js';
import { profiles } from './harness/profiles.js';
import { FaultBody } from './harness/topic.js';

const MESSAGES = 300;
const HANG_AFTER = 40;
const redisUrl = configuredBroker('redis').url;
const run = randomBytes(3).toString('hex');
const table = `omnibus_faults_idem_${run}`;
const effectsTable = `omnibus_faults_effects_${run}`;

describeWithBroker('postgres', 'faults: idempotent consumers under consumer SIGKILL', (db) => {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  const redis = new Redis(redisUrl);
  beforeAll(async () => {
    await createPostgresIdempotencyStore({ pool, table }).install();
    await pool.query(`CREATE TABLE ${effectsTable} (message_id text NOT NULL, group_name text NOT NULL DEFAULT '', at timestamptz NOT NULL DEFAULT now())`);
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${effectsTable}`).catch(() => {});
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    const keys = await redis.keys(`omnibus-faults-idem-${run}*`);
    if (keys.length > 0) await redis.del(...keys);
    await pool.end();
    redis.disconnect();
  });

  for (const kind of BROKER_KINDS) {
    describeWithBroker(kind, `on ${kind}`, (endpoint) => {
      it('PostgreSQL: each effect exactly once; Redis: more than once only where killed before the commit', async () => {
        const profile = profiles[kind];
        const topicName = uniqueName('faults-idem');
        const effectsKey = `omnibus-faults-idem-${run}:${kind}:effects`;
        // The shared Kafka refuses the fault profile's 3 s session (its private broker allows it).
        const transportOptions = kind === 'kafka' ? { ...profile.options(), ...fastKafkaOptions } : profile.options();
        const config: IdempotentChildConfig = {
          transport: kind,
          url: endpoint.url,
          options: transportOptions,
          topic: topicName,
          group: 'idem',
          concurrency: 8,
          workMs: 5,
          hangAfterDone: HANG_AFTER,
          postgresUrl: db.url,
          table,
          effectsTable: `${effectsTable}`,
          redisUrl,
          redisPrefix: `omnibus-faults-idem-${run}:${kind}:keys:`,
          effectsKey,
          leaseMs: 1_500,
        };
        // The effects of this transport's run only: message ids are unique, rows are per message.
        const child = await ConsumerChild.start(config, 60_000, join(import.meta.dirname, 'harness', 'idempotent-child.ts'));
        const survivorDone = new Set<string>();
        const progress = new Signal();
        const survivor = await startIdempotentConsumers(config, { start: () => {}, done: (id) => (survivorDone.add(id), progress.notify()), hang: () => false }, silentLogger);
        const module = await loadTransportModule(kind);
        const publisher = await createBus({ transport: module.createTransport({ url: endpoint.url, options: transportOptions, logger: silentLogger }), logger: silentLogger });
        try {
          const topic = defineTopic(topicName, FaultBody);
          await publisher.ensureGroup(topic, 'idem-pg');
          await publisher.ensureGroup(topic, 'idem-redis');
          const ids = await publisher.publishBatch(topic, Array.from({ length: MESSAGES }, (_, n) => ({ body: { n } })));
          const unfinished = await child.killWhen((report) => report.type === 'start' && child.done.length >= HANG_AFTER, 60_000, `the child to finish ${HANG_AFTER} and start another`);
          const childDone = new Set(child.done);
          const finished = (id: string) => childDone.has(id) || survivorDone.has(id);
          await progress.until(
            () => ids.every((id) => finished(`pg:${id}`) && finished(`redis:${id}`)),
            profile.crashRedeliveryMs + 60_000,
            () => `every message handled in both groups (${childDone.size} by the child, ${survivorDone.size} by the survivor; missing ${ids.flatMap((id) => ['pg', 'redis'].map((g) => `${g}:${id}`)).filter((id) => !finished(id)).slice(0, 5).join(', ')})`,
          );

          const pgEffects = await pool.query<{ message_id: string; n: string }>(`SELECT message_id, count(*) AS n FROM ${effectsTable} WHERE message_id = ANY($1) GROUP BY message_id`, [ids]);
          const pgCounts = new Map(pgEffects.rows.map((row) => [row.message_id, Number(row.n)]));
          const redisCounts = await redis.hgetall(effectsKey);
          const killedRedis = new Set(unfinished.filter((id) => id.startsWith('redis:')).map((id) => id.slice('redis:'.length)));
          const redisTwice = ids.filter((id) => Number(redisCounts[id] ?? 0) > 1);
          console.log(`[faults] ${kind} idempotency: messages=${MESSAGES} killed mid-handler=${unfinished.length} pg effects≠1: ${ids.filter((id) => pgCounts.get(id) !== 1).length} redis effects>1: ${redisTwice.length} (of ${killedRedis.size} killed in the Redis group between effect and commit)`);

          const wrong = ids.filter((id) => pgCounts.get(id) !== 1);
          if (wrong.length > 0) {
            const keys = await pool.query(`SELECT * FROM ${table} WHERE key = ANY($1)`, [wrong.map((id) => `idem-pg:${id}`)]);
            console.log('pg effects not once:', wrong.map((id) => `${id}=${pgCounts.get(id) ?? 0}${unfinished.includes(`pg:${id}`) ? ' (killed)' : ''}`).join(', '), JSON.stringify(keys.rows));
          }
          expect(unfinished.length).toBeGreaterThan(0);
          expect(ids.filter((id) => pgCounts.get(id) !== 1)).toEqual([]);
          expect(ids.filter((id) => Number(redisCounts[id] ?? 0) < 1)).toEqual([]);
          expect(redisTwice.filter((id) => !killedRedis.has(id))).toEqual([]);
        } finally {
          await Promise.allSettled([survivor.close(), publisher.close(), child.kill()]);
        }
      }, 180_000);
    });
  }
});
