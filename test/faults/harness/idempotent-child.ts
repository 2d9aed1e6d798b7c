// An idempotent consumer in its own process, so a test can SIGKILL it between a handler's effect
// and the commit of its idempotency key. Two groups of one topic:
// - `<group>-pg`: the effect (a row) and the key's commit in one PostgreSQL transaction (commitIn);
// - `<group>-redis`: the effect (HINCRBY) in Redis, the key committed by the subscription after it.
// Reports as consumer-child.ts does, with ids as `pg:<id>` and `redis:<id>`.
import { Redis } from 'ioredis';
import pg from 'pg';
import { createBus, defineTopic, loadTransportModule, type Logger } from '@omnibus/core';
import { createPostgresIdempotencyStore } from '@omnibus/idempotency-postgres';
import { createRedisIdempotencyStore } from '@omnibus/idempotency-redis';
import type { ChildConfig, ChildReport } from './consumer-child.js';
import { FaultBody } from './topic.js';

export interface IdempotentChildConfig extends ChildConfig {
  readonly postgresUrl: string;
  readonly table: string;
  readonly effectsTable: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly effectsKey: string;
  readonly leaseMs: number;
}

const send = (report: ChildReport) => process.send?.(report);
const log = (level: string) => (fields: unknown, message?: string) => process.stderr.write(`[idempotent-child ${level}] ${message ?? ''} ${JSON.stringify(fields)}\n`);
const logger: Logger = { debug: () => {}, info: () => {}, warn: log('warn'), error: log('error') };

/** The handlers of both groups, given one config: used by the child and by the surviving consumer in the test. */
export async function startIdempotentConsumers(config: IdempotentChildConfig, hooks: { start(id: string): void; done(id: string): void; hang(): boolean }, log: Logger = logger) {
  const module = await loadTransportModule(config.transport);
  const transport = module.createTransport({ url: config.url, options: config.options, logger: log });
  const bus = await createBus({ transport, logger: log, drainTimeoutMs: 10_000 });
  const pool = new pg.Pool({ connectionString: config.postgresUrl, max: config.concurrency + 2 });
  const redis = new Redis(config.redisUrl, { lazyConnect: false });
  const pgStore = createPostgresIdempotencyStore({ pool, table: config.table });
  const redisStore = createRedisIdempotencyStore({ client: redis, keyPrefix: config.redisPrefix });
  const topic = defineTopic(config.topic, FaultBody);
  const work = () => new Promise((resolve) => setTimeout(resolve, config.workMs));
  const forever = () => new Promise(() => {});
  // Done is reported once the key is committed (a kill before that leaves the message unfinished)
  // or when a duplicate is skipped (its key was committed by a consumer killed before it reported).
  const idempotency = { leaseMs: config.leaseMs, busyWaitMs: 0 };
  const onDuplicate = (prefix: string) => (message: { id: string }) => hooks.done(`${prefix}:${message.id}`);
  // A copy of a killed child's message may find its key still claimed and be retried: room for that.
  const retry = { maxAttempts: 20, backoff: { type: 'fixed' as const, delayMs: 200, jitter: false } };

  await bus.subscribe(
    topic,
    async (message, ctx) => {
      const id = `pg:${message.id}`;
      hooks.start(id);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${config.effectsTable} (message_id) VALUES ($1)`, [message.id]);
        if (hooks.hang()) await forever(); // killed here: the transaction, effect included, is rolled back
        await work();
        await pgStore.commitIn(client, ctx.idempotencyKey as string, 3_600_000);
        await client.query('COMMIT');
        hooks.done(id);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    { group: `${config.group}-pg`, concurrency: config.concurrency, retry, idempotency: { store: pgStore, ...idempotency, onDuplicate: onDuplicate('pg') } },
  );
  await bus.subscribe(
    topic,
    async (message, ctx) => {
      const id = `redis:${message.id}`;
      hooks.start(id);
      await redis.hincrby(config.effectsKey, message.id, 1);
      if (hooks.hang()) await forever(); // killed here: the effect is done, the key is not committed
      await work();
      // Committed here rather than after the handler, so that done is reported after the commit.
      await redisStore.commit(ctx.idempotencyKey as string, 'handler', 3_600_000);
      hooks.done(id);
    },
    { group: `${config.group}-redis`, concurrency: config.concurrency, retry, idempotency: { store: redisStore, ...idempotency, onDuplicate: onDuplicate('redis') } },
  );
  return {
    close: async () => {
      await bus.close();
      await pool.end();
      redis.disconnect();
    },
  };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OMNIBUS_FAULTS_CHILD ?? '{}') as IdempotentChildConfig;
  let done = 0;
  await startIdempotentConsumers(config, {
    start: (id) => send({ type: 'start', id, attempt: 0 }),
    done: (id) => {
      done += 1;
      send({ type: 'done', id });
    },
    hang: () => config.hangAfterDone !== undefined && done >= config.hangAfterDone,
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

if (process.env.OMNIBUS_FAULTS_CHILD) {
  main().catch((error: unknown) => {
    send({ type: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exitCode = 1;
    process.disconnect?.();
  });
}
