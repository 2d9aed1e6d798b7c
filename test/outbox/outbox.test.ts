// @omnibus/outbox-postgres against the real PostgreSQL and every transport (memory:// and the
// four brokers, side by side): transactions, a SIGKILLed relay, two relays, a broker outage,
// and the relay's throughput. Each test has its own table, topic and group.
import { join, resolve } from 'node:path';
import { defineTopic, Signal, type Bus } from '@omnibus/core';
import { createOutbox, createRelay, type Outbox, type PublishedRow, type Relay } from '@omnibus/outbox-postgres';
import { BROKER_KINDS, brokerEndpoint, describeWithBroker, recordingLogger, spawnManaged, type AvailablePostgres } from '@omnibus/test-support';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ascending, brokerTarget, firstArrivalsByKey, memoryTarget, OrderSchema, Received, uniqueTable, uniqueTag, writeRows, type Target } from './harness.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CHILD = join(import.meta.dirname, 'relay-child.ts');
/** Rows per scenario: enough for several batches and waves, small enough for the minute budget. */
const ROWS = 200;
const THROUGHPUT_ROWS = 2_000;
const throughput: Record<string, number> = {};

describeWithBroker('postgres', 'outbox-postgres', (postgres) => {
  afterAll(() => {
    if (Object.keys(throughput).length) console.log(`[outbox] relay throughput (rows/s, ${THROUGHPUT_ROWS} rows, batchSize 100, 50 keys): ${JSON.stringify(throughput)}`);
  });

  describe.concurrent('on every transport', () => {
    scenarios(postgres, 'memory', () => memoryTarget());
    for (const kind of BROKER_KINDS) {
      describeWithBroker(kind, kind, (endpoint) => scenarios(postgres, kind, () => brokerTarget(endpoint)));
    }
  });

  // Measured one transport at a time, after the scenarios, so that the figures are not shared.
  describe('relay throughput', () => {
    measure(postgres, 'memory', () => memoryTarget());
    for (const kind of BROKER_KINDS) {
      if (brokerEndpoint(kind).available) measure(postgres, kind, () => brokerTarget(brokerEndpoint(kind) as Parameters<typeof brokerTarget>[0]));
    }
  });
});

interface Context {
  readonly target: Target;
  readonly pool: pg.Pool;
  /** The relays' bus (and the consumers'). */
  readonly bus: Bus;
  /** Outbox tables made by the tests, dropped at the end. */
  readonly tables: string[];
}

/** Everything one test on one transport needs, closed in its afterAll. */
function setup(postgres: AvailablePostgres, makeTarget: () => Target): () => Context {
  let context: Context | undefined;
  beforeAll(async () => {
    const target = makeTarget();
    context = { target, pool: new pg.Pool({ connectionString: postgres.url, max: 6 }), bus: await target.openBus(), tables: [] };
  });
  afterAll(async () => {
    if (!context) return;
    await context.bus.close();
    for (const table of context.tables) await context.pool.query(`DROP TABLE IF EXISTS ${table}`);
    await context.pool.end();
    await context.target.cleanup();
  });
  return () => context as Context;
}

/** A fresh outbox table, topic and consumer for one test. */
async function fresh(ctx: Context, label: string): Promise<{ outbox: Outbox; table: string; received: Received; topic: ReturnType<typeof orderTopic> }> {
  const { outbox, table, topic } = await freshTable(ctx, label);
  const received = await Received.start(ctx.bus, topic);
  return { outbox, table, received, topic };
}

async function freshTable(ctx: Context, label: string): Promise<{ outbox: Outbox; table: string; topic: ReturnType<typeof orderTopic> }> {
  const table = uniqueTable(label);
  const outbox = createOutbox({ table });
  ctx.tables.push(table);
  await outbox.install(ctx.pool);
  return { outbox, table, topic: orderTopic(label) };
}

const orderTopic = (label: string) => defineTopic(uniqueTag(`outbox-${label}`), OrderSchema);

function scenarios(postgres: AvailablePostgres, kind: string, makeTarget: () => Target): void {
  describe(kind, () => {
    const ctx = setup(postgres, makeTarget);
    const cleanups: (() => Promise<unknown>)[] = [];
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    });

    it('a rolled-back transaction publishes nothing; a committed one publishes each row once', async () => {
      const { pool, bus } = ctx();
      const { outbox, received, topic, table } = await fresh(ctx(), 'tx');
      cleanups.push(() => received.close());
      // It never polls within the test (an hour): only the NOTIFY of a commit can wake it, so the rows
      // arriving at all proves the wake-up, without timing it.
      const relay = createRelay({ pool, bus, outbox, batchSize: 50, pollIntervalMs: 3_600_000 });
      cleanups.push(() => relay.close());
      await relay.start();

      const rolledBack = await writeRows(pool, outbox, topic, 20, { keys: 4, outcome: 'rollback' });
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);
      const committed = await writeRows(pool, outbox, topic, 20, { keys: 4, from: 100 });
      await received.waitForIds(committed.map((r) => r.id), 15_000);
      // A marker after them, on every key: once it is in, everything written before was sent.
      const marker = await writeRows(pool, outbox, topic, 4, { keys: 4, from: 200 });
      await received.waitForIds(marker.map((r) => r.id), 15_000);
      await relay.close();

      const counts = received.counts();
      for (const row of rolledBack) expect(counts.has(row.id)).toBe(false);
      expect(committed.map((row) => counts.get(row.id))).toEqual(committed.map(() => 1));
      expect(received.messages.find((m) => m.id === committed[0]?.id)?.body).toEqual({ n: 100, key: 'k0' });
      expect((await relay.lag()).unsent).toBe(0);
      expect(relay.stats().sent).toBe(24);
    });

    it('a relay SIGKILLed mid-batch loses nothing; the rows it sent are sent again with the same ids', async () => {
      const { target, pool, bus } = ctx();
      const { outbox, received, topic, table } = await fresh(ctx(), 'kill');
      cleanups.push(() => received.close());
      const written = await writeRows(pool, outbox, topic, ROWS, { keys: 10 });

      // batchSize 50 over 10 keys: waves of 10. The child holds after 80 rows: one batch committed,
      // three waves of the second published, not committed. (memory:// is per process, so
      // there the child holds inside its first batch: nothing it sends reaches this process.)
      const holdAfter = target.shared ? 80 : 30;
      const child = await spawnManaged(`outbox relay child (${kind})`, process.execPath, ['--conditions=@omnibus/source', '--import', 'tsx', CHILD], {
        cwd: ROOT,
        env: { ...process.env, OUTBOX_CHILD: JSON.stringify({ url: target.url, options: target.shared ? target.options : {}, postgresUrl: postgres.url, table: outbox.channel, batchSize: 50, holdAfter }) },
      });
      cleanups.push(() => child.kill('SIGKILL'));
      await child.waitForOutput(/^holding$/m, 30_000);
      const exit = await child.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      const childSent = child
        .output()
        .split('\n')
        .filter((line) => line.startsWith('published '))
        .flatMap((line) => JSON.parse(line.slice('published '.length)) as string[]);
      expect(childSent).toHaveLength(holdAfter);
      // What the killed batch published is still in the table (its DELETE never committed).
      const held = childSent.slice(target.shared ? 50 : 0);
      const left = (await pool.query<{ id: string }>(`SELECT id FROM ${table}`)).rows.map((r) => r.id);
      expect(left).toHaveLength(target.shared ? ROWS - 50 : ROWS);
      expect(held.every((id) => left.includes(id))).toBe(true);

      const resent: PublishedRow[] = [];
      const relay = createRelay({ pool, bus, outbox, batchSize: 50, onPublished: (rows) => void resent.push(...rows) });
      cleanups.push(() => relay.close());
      await relay.start();
      await received.waitForIds(
        written.map((r) => r.id),
        30_000,
      );
      await relay.close();

      // Every row arrived; what the killed relay had published went out again with its own id.
      const resentIds = new Set(resent.map((r) => r.id));
      expect(held.filter((id) => !resentIds.has(id))).toEqual([]);
      const byId = new Map(written.map((r) => [r.id, r]));
      for (const message of received.messages) {
        // A duplicate is the same message: same id, same body, same key.
        expect(byId.get(message.id), `unexpected id ${message.id}`).toBeDefined();
        expect(message.body).toEqual({ n: byId.get(message.id)?.n, key: byId.get(message.id)?.key });
        expect(message.key).toBe(byId.get(message.id)?.key);
      }
      for (const [key, ns] of firstArrivalsByKey(received.messages)) expect(ascending(ns), `order of ${key}: ${ns.join(',')}`).toBe(true);
      expect((await relay.lag()).unsent).toBe(0);
      const duplicates = [...received.counts().values()].filter((c) => c > 1).length;
      console.log(`[outbox] ${kind}: SIGKILL mid-batch: ${held.length} rows published by the killed relay and sent again; ${duplicates} duplicates seen by the consumer (same ids)`);
    });

    it('two relays send each row once, in order per key', async () => {
      const { pool, target } = ctx();
      const { outbox, received, topic } = await fresh(ctx(), 'two');
      cleanups.push(() => received.close());
      // Two buses, as two processes would have.
      const busA = ctx().bus;
      const busB = await target.openBus();
      cleanups.push(() => busB.close());
      const relays: Relay[] = [busA, busB].map((bus) => createRelay({ pool, bus, outbox, batchSize: 10 }));
      for (const relay of relays) cleanups.push(() => relay.close());
      await Promise.all(relays.map((relay) => relay.start()));
      const written = await writeRows(pool, outbox, topic, ROWS, { keys: 20 });
      await received.waitForIds(
        written.map((r) => r.id),
        30_000,
      );
      await Promise.all(relays.map((relay) => relay.close()));

      const [a, b] = relays.map((relay) => relay.stats().sent) as [number, number];
      expect(a + b).toBe(ROWS);
      const counts = received.counts();
      expect(written.filter((row) => counts.get(row.id) !== 1)).toEqual([]);
      for (const [key, ns] of firstArrivalsByKey(received.messages)) expect(ascending(ns), `order of ${key}: ${ns.join(',')}`).toBe(true);
      console.log(`[outbox] ${kind}: two relays sent ${a} + ${b} rows`);
    });

    it('holds rows through a broker outage and sends them once it recovers', async () => {
      const { pool, target } = ctx();
      const { outbox, received, topic } = await fresh(ctx(), 'outage');
      cleanups.push(() => received.close());
      const outage = await target.openOutage();
      cleanups.push(() => outage.close());
      const logger = recordingLogger();
      const relay = createRelay({ pool, bus: outage.bus, outbox, batchSize: 20, publishTimeoutMs: 3_000, retry: { type: 'exponential', initialDelayMs: 100, maxDelayMs: 1_000 }, logger });
      cleanups.push(() => relay.close());
      await relay.start();
      const before = await writeRows(pool, outbox, topic, 10, { keys: 5 });
      await received.waitForIds(
        before.map((r) => r.id),
        15_000,
      );

      outage.down();
      const during = await writeRows(pool, outbox, topic, 30, { keys: 5, from: 10 });
      // The relay failed on them: the first failed batch holds every key's first row (5), pushed back.
      const failure = await logger.waitFor(/publish failed; the rows are kept/, 20_000);
      expect(failure.fields.rows).toBe(5);
      expect(String(failure.fields.err)).not.toMatch(/guest:guest@/);
      const lag = await relay.lag();
      expect(lag.retrying).toBe(5);
      expect(lag.unsent).toBe(30);
      expect(lag.oldestAgeMs).toBeGreaterThan(0);
      const seen = received.counts();
      expect(during.filter((row) => seen.has(row.id))).toEqual([]);

      outage.up();
      await received.waitForIds(
        during.map((r) => r.id),
        45_000,
      );
      await relay.close();
      expect((await relay.lag()).unsent).toBe(0);
      const counts = received.counts();
      expect(during.filter((row) => !counts.has(row.id))).toEqual([]);
      for (const [key, ns] of firstArrivalsByKey(received.messages)) expect(ascending(ns), `order of ${key}: ${ns.join(',')}`).toBe(true);
      console.log(`[outbox] ${kind}: outage by ${outage.how}: ${relay.stats().failed} failed publishes retried, ${[...counts.values()].filter((c) => c > 1).length} duplicates`);
    });
  });
}

function measure(postgres: AvailablePostgres, kind: string, makeTarget: () => Target): void {
  describe(kind, () => {
    const ctx = setup(postgres, makeTarget);
    // The relay alone: no consumer competes for the CPU (the scenarios above check delivery).
    it(`relays ${THROUGHPUT_ROWS} rows`, async () => {
      const { pool, bus } = ctx();
      const { outbox, topic } = await freshTable(ctx(), 'rate');
      await writeRows(pool, outbox, topic, THROUGHPUT_ROWS, { keys: 50 });
      const progress = new Signal();
      let sent = 0;
      const relay = createRelay({ pool, bus, outbox, batchSize: 100, listen: false, onPublished: (rows) => ((sent += rows.length), progress.notify()) });
      const started = performance.now();
      await relay.start();
      await progress.until(() => sent >= THROUGHPUT_ROWS, 30_000, () => `${THROUGHPUT_ROWS} rows published (${sent} so far)`);
      await relay.close(); // its last batch commits
      const seconds = (performance.now() - started) / 1000;
      expect(relay.stats().sent).toBe(THROUGHPUT_ROWS);
      expect(await relay.lag()).toMatchObject({ unsent: 0, retrying: 0 });
      throughput[kind] = Math.round(THROUGHPUT_ROWS / seconds);
    });
  });
}
