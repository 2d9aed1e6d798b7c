// The outbox on the real PostgreSQL with a memory:// bus: what publish() checks and stores, how
// the relay treats a row the bus refuses, and the options. Every broker: test/outbox.
import { randomBytes } from 'node:crypto';
import { ConfigError, createBus, defineTopic, handlerSpy, ValidationError, type Bus, type Codec } from '@omnibus/core';
import { describeWithBroker, recordingLogger } from '@omnibus/test-support';
import pg from 'pg';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOutbox, createRelay, type Outbox } from '../src/index.js';

const Order = z.strictObject({ n: z.number().int(), note: z.string().default('none') });

describeWithBroker('postgres', 'outbox-postgres on memory://', (endpoint) => {
  let pool: pg.Pool;
  let bus: Bus;
  const tables: string[] = [];

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: endpoint.url, max: 5 });
    bus = await createBus('memory://');
  });

  afterAll(async () => {
    await bus?.close();
    for (const table of tables) await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool?.end();
  });

  async function fresh(options: { codec?: Codec } = {}): Promise<{ outbox: Outbox; table: string }> {
    const table = `outbox_unit_${randomBytes(4).toString('hex')}`;
    tables.push(table);
    const outbox = createOutbox({ table, ...options });
    await Promise.all([outbox.install(pool), outbox.install(pool)]); // concurrent installs are fine
    return { outbox, table };
  }

  const topic = () => defineTopic(`outbox-unit-${randomBytes(4).toString('hex')}`, Order);

  it('stores the body encoded as given (the schema input), with id, key, headers and the codec content type', async () => {
    const { outbox, table } = await fresh();
    const t = topic();
    const id = await outbox.publish(pool, t, { n: 1 }, { key: 'k', headers: { tenant: 'a' } });
    const given = await outbox.publish(pool, t, { n: 2, note: 'x' }, { id: 'my-id' });
    expect(given).toBe('my-id');
    const { rows } = await pool.query(`SELECT id, topic, key, headers, body, content_type, deliver_at, attempts FROM ${table} ORDER BY seq`);
    expect(rows[0]).toMatchObject({ id, topic: t.name, key: 'k', headers: { tenant: 'a' }, content_type: 'application/json', deliver_at: null, attempts: 0 });
    expect(rows[0].body.toString('utf8')).toBe('{"n":1}'); // .default() runs on receipt, not here
    expect(rows[1]).toMatchObject({ id: 'my-id', key: null, headers: null });
  });

  it('refuses what bus.publish refuses, before writing anything', async () => {
    const { outbox, table } = await fresh();
    const t = topic();
    await expect(outbox.publish(pool, t, { n: 1.5 } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(outbox.publish(pool, t, { n: 1 }, { headers: { 'ce-id': 'x' } })).rejects.toMatchObject({ field: 'headers.ce-id' });
    await expect(outbox.publish(pool, t, { n: 1 }, { headers: { a: 1 as never } })).rejects.toMatchObject({ field: 'headers.a' });
    await expect(outbox.publish(pool, t, { n: 1 }, { delayMs: -1 })).rejects.toMatchObject({ field: 'delayMs' });
    await expect(outbox.publish(pool, t, { n: 1 }, { delayMs: 5, deliverAt: new Date() })).rejects.toMatchObject({ field: 'deliverAt' });
    await expect(outbox.publish(pool, t, { n: 1 }, { deliverAt: new Date(Date.now() + 30 * 86_400_000) })).rejects.toMatchObject({ field: 'deliverAt' });
    await expect(outbox.publish(pool, t, { n: 1 }, { id: '' })).rejects.toMatchObject({ field: 'id' });
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);
  });

  it('fixes the due time of a delayed message when it is written', async () => {
    const { outbox, table } = await fresh();
    const before = Date.now();
    await outbox.publish(pool, topic(), { n: 1 }, { delayMs: 60_000 });
    const { rows } = await pool.query<{ deliver_at: Date }>(`SELECT deliver_at FROM ${table}`);
    expect(rows[0]?.deliver_at.getTime()).toBeGreaterThanOrEqual(before + 60_000);
    expect(rows[0]?.deliver_at.getTime()).toBeLessThan(Date.now() + 60_001);
  });

  it('delivers to a typed consumer as bus.publish would: decoded, validated, with the codec content type', async () => {
    // A topic with its own codec: the stored bytes and content type are that codec's.
    const reversed: Codec = {
      contentType: 'application/x-reversed-json',
      encode: (value) => Buffer.from(JSON.stringify(value).split('').reverse().join('')),
      decode: (bytes) => JSON.parse(Buffer.from(bytes).toString('utf8').split('').reverse().join('')) as unknown,
    };
    const { outbox } = await fresh();
    const plain = topic();
    const custom = defineTopic(`outbox-unit-${randomBytes(4).toString('hex')}`, Order, { codec: reversed });
    const plainSpy = handlerSpy<z.output<typeof Order>>();
    const customSpy = handlerSpy<z.output<typeof Order>>();
    const subs = [await bus.subscribe(plain, plainSpy.handler, { group: 'g' }), await bus.subscribe(custom, customSpy.handler, { group: 'g' })];
    const relay = createRelay({ pool, bus, outbox });
    await relay.start();
    try {
      const a = await outbox.publish(pool, plain, { n: 1 }, { key: 'k', headers: { tenant: 'a' } });
      const b = await outbox.publish(pool, custom, { n: 2 });
      const gotA = await plainSpy.waitForMessageWithId(a);
      const gotB = await customSpy.waitForMessageWithId(b);
      expect(gotA.message.body).toEqual({ n: 1, note: 'none' });
      expect(gotA.message.key).toBe('k');
      expect(gotA.message.headers).toEqual({ tenant: 'a' });
      expect(gotA.message.envelope['content-type']).toBe('application/json');
      expect(gotB.message.body).toEqual({ n: 2, note: 'none' });
      expect(gotB.message.envelope['content-type']).toBe('application/x-reversed-json');
    } finally {
      await relay.close();
      for (const sub of subs) await sub.close();
    }
  });

  it('keeps a row the bus refuses, blocks only its key, and says why in last_error and the log', async () => {
    const { outbox, table } = await fresh();
    const t = topic();
    const spy = handlerSpy<z.output<typeof Order>>();
    const sub = await bus.subscribe(t, spy.handler, { group: 'g' });
    const client = await pool.connect();
    const ids: Record<string, string[]> = { k0: [], k1: [], none: [] };
    try {
      await client.query('BEGIN');
      for (let n = 0; n < 6; n++) {
        const key = n % 2 === 0 ? 'k0' : 'k1';
        ids[key]?.push(await outbox.publish(client, t, { n }, { key }));
      }
      ids.none?.push(await outbox.publish(client, t, { n: 100 }));
      // k0's first row becomes one the bus refuses: due beyond the 24 days any transport keeps.
      await client.query(`UPDATE ${table} SET deliver_at = now() + interval '30 days' WHERE id = $1`, [ids.k0?.[0]]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const logger = recordingLogger();
    const relay = createRelay({ pool, bus, outbox, logger, retry: { type: 'fixed', delayMs: 60_000 } });
    await relay.start();
    try {
      for (const id of [...(ids.k1 ?? []), ...(ids.none ?? [])]) await spy.waitForMessageWithId(id);
      const warning = await logger.waitFor(/publish failed/);
      expect(warning.fields).toMatchObject({ rows: 1, id: ids.k0?.[0], attempts: 1 });
      const left = (await pool.query<{ id: string; attempts: number; last_error: string | null }>(`SELECT id, attempts, last_error FROM ${table} ORDER BY seq`)).rows;
      expect(left.map((r) => r.id)).toEqual(ids.k0);
      expect(left[0]?.attempts).toBe(1);
      expect(left[0]?.last_error).toMatch(/deliverAt/);
      expect(left.slice(1).every((r) => r.attempts === 0)).toBe(true); // waiting behind it, not tried
      expect(await relay.lag()).toMatchObject({ unsent: 3, retrying: 1 });
      expect(spy.calls.some((c) => ids.k0?.includes(c.message.id))).toBe(false);
    } finally {
      await relay.close();
      await relay.close(); // idempotent
      await sub.close();
    }
  });

  it('reports lag: unsent rows and the age of the oldest', async () => {
    const { outbox } = await fresh();
    expect(await outbox.lag(pool)).toEqual({ unsent: 0, retrying: 0, oldestCreatedAt: undefined, oldestAgeMs: 0 });
    await outbox.publish(pool, topic(), { n: 1 });
    await outbox.publish(pool, topic(), { n: 2 });
    const lag = await outbox.lag(pool);
    expect(lag.unsent).toBe(2);
    expect(lag.oldestCreatedAt).toBeInstanceOf(Date);
    expect(lag.oldestAgeMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses bad options with a ConfigError naming the field', () => {
    expect(() => createOutbox({ table: 'no-dashes' })).toThrow(expect.objectContaining({ field: 'options.table' }));
    expect(() => createOutbox({ table: 'x'.repeat(51) })).toThrow(ConfigError);
    expect(() => createOutbox({ schema: 's'.repeat(20), table: 't'.repeat(50) })).toThrow(expect.objectContaining({ field: 'options.schema' }));
    const outbox = createOutbox();
    expect(() => createRelay({ pool, bus, outbox, batchSize: 0 })).toThrow(expect.objectContaining({ field: 'relay options.batchSize' }));
    expect(() => createRelay({ pool: {} as pg.Pool, bus, outbox })).toThrow(expect.objectContaining({ field: 'relay options.pool' }));
    expect(() => createRelay({ pool, bus, outbox: {} as Outbox })).toThrow(expect.objectContaining({ field: 'relay options.outbox' }));
  });

  it('keeps the pool password out of its log lines', async () => {
    // A pool whose connection string carries a password, to a port where nothing listens.
    const secretPool = new pg.Pool({ connectionString: 'postgres://postgres:s3cr3t-pw@127.0.0.1:1/test', connectionTimeoutMillis: 500 });
    secretPool.on('error', () => {});
    const logger = recordingLogger();
    const relay = createRelay({ pool: secretPool, bus, outbox: createOutbox(), logger, listen: false });
    await relay.start();
    try {
      await logger.waitFor(/batch failed in the database/, 10_000);
      expect(logger.text()).not.toMatch(/s3cr3t-pw/);
    } finally {
      await relay.close();
      await secretPool.end();
    }
  });
});
