/**
 * (g) The transactional outbox (@omnibus/outbox-postgres). Writing an order to the database and
 * publishing `orders.placed` are two systems: a crash between them loses the message or sends one
 * for an order that was never saved. With the outbox, the message is a row written in the order's
 * own transaction (`outbox.publish(client, topic, body)`), so it exists if and only if the order
 * does; a relay sends committed rows to the bus and deletes them.
 *
 * The example commits orders while the relay is not running (the broker is unreachable, the relay
 * is deployed later), rolls one order back (payment declined after the insert), then starts the
 * relay: every committed order reaches the consumer, the rolled-back one never does.
 *
 * It needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) whatever the
 * broker; it creates two tables with a run-unique name and drops them at the end.
 */
import pg from 'pg';
import { z } from 'zod';
import { Signal, defineTopic } from '@omnibus/core';
import { createOutbox, createRelay } from '@omnibus/outbox-postgres';
import { banner, deleteGroups, ms, openBus, percentile, runAsScript, runSuffix, since, type Print } from './shared.js';

const COMMITTED = 8;
const GROUP = 'fulfilment';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface OutboxResult {
  /** False when PostgreSQL could not be reached (nothing else is then measured). */
  readonly ran: boolean;
  readonly committed: number;
  readonly rolledBack: number;
  /** Rows waiting in the outbox before the relay started (the committed orders). */
  readonly unsentBeforeRelay: number;
  /** Orders the consumer received: every committed one. */
  readonly received: number;
  /** Received messages of the rolled-back order (should be 0). */
  readonly receivedRolledBack: number;
  /** Rows left in the outbox after the relay caught up. */
  readonly unsentAfter: number;
  /** BEGIN … INSERT order, outbox.publish … COMMIT, per order. */
  readonly transactionP50Ms: number;
  /** Relay start to the last committed order received. */
  readonly relayCatchUpMs: number;
  /** Commit to received, once the relay runs. */
  readonly liveLatencyP50Ms: number;
}

const OrderPlacedSchema = z.object({ orderId: z.string(), total: z.number() });

export async function runOutbox(url: string, print: Print, databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL): Promise<OutboxResult> {
  banner(print, 'outbox: the order and its message commit together, a relay sends them', url);
  const database = where(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, connectionTimeoutMillis: 3_000 });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    print(`  PostgreSQL not reachable at ${database} (${error instanceof Error ? error.message : String(error)}): the outbox needs it (set DATABASE_URL); nothing demonstrated`);
    return { ran: false, committed: 0, rolledBack: 0, unsentBeforeRelay: 0, received: 0, receivedRolledBack: 0, unsentAfter: 0, transactionP50Ms: 0, relayCatchUpMs: 0, liveLatencyP50Ms: 0 };
  }

  const suffix = runSuffix().replace(/-/g, '_');
  const ordersTable = `orders_${suffix}`;
  const OrderPlaced = defineTopic(`orders.placed.outbox.${suffix}`, OrderPlacedSchema);
  const outbox = createOutbox({ table: `outbox_${suffix}` });
  try {
    await using bus = await openBus(url, 'omnibus-example-outbox');
    await pool.query(`CREATE TABLE "${ordersTable}" (order_id text PRIMARY KEY, total numeric NOT NULL)`);
    await outbox.install(pool);
    print(`  tables "${ordersTable}" and ${outbox.table} in PostgreSQL at ${database}`);

    const received = new Map<string, number>();
    const committedAt = new Map<string, number>();
    const live: number[] = [];
    const progress = new Signal();
    const fulfilment = await bus.subscribe(
      OrderPlaced,
      async (msg) => {
        received.set(msg.body.orderId, (received.get(msg.body.orderId) ?? 0) + 1);
        const at = committedAt.get(msg.body.orderId);
        if (at !== undefined && received.get(msg.body.orderId) === 1) live.push(since(at));
        progress.notify();
      },
      { group: GROUP, concurrency: 4 },
    );

    // Place an order: the row and its message in one transaction.
    const transaction: number[] = [];
    const placeOrder = async (orderId: string, total: number, declined = false): Promise<void> => {
      const client = await pool.connect();
      const start = performance.now();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO "${ordersTable}" (order_id, total) VALUES ($1, $2)`, [orderId, total]);
        await outbox.publish(client, OrderPlaced, { orderId, total }, { key: orderId });
        if (declined) {
          await client.query('ROLLBACK'); // the payment was declined: no order, and no message
          return;
        }
        await client.query('COMMIT');
        transaction.push(since(start));
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    };

    // The relay is not running yet (the broker is unreachable, or it is deployed later).
    for (let n = 1; n <= COMMITTED; n++) await placeOrder(`o-${n}`, 10 * n);
    await placeOrder('o-declined', 99, true);
    const before = await outbox.lag(pool);
    print(`  ${COMMITTED} orders committed with their message (transaction p50 ${ms(percentile(transaction, 50))}), 1 rolled back; relay not running: ${before.unsent} rows wait in the outbox`);

    const relay = createRelay({ pool, bus, outbox, pollIntervalMs: 1_000 });
    const relayStart = performance.now();
    await relay.start();
    await progress.until(() => received.size >= COMMITTED, 30_000, () => `${COMMITTED} orders received (${received.size} so far)`);
    const relayCatchUpMs = since(relayStart);
    print(`  relay started: ${received.size} orders received in ${ms(relayCatchUpMs)}; the rolled-back order: ${received.has('o-declined') ? 'received (a bug)' : 'never sent'}`);

    // Live: with the relay running, a commit wakes it through NOTIFY.
    for (let n = COMMITTED + 1; n <= COMMITTED + 4; n++) {
      const orderId = `o-${n}`;
      await placeOrder(orderId, 10 * n);
      committedAt.set(orderId, performance.now());
      await progress.until(() => received.has(orderId), 30_000, () => `order ${orderId} received`);
    }
    await relay.close();
    const after = await outbox.lag(pool);
    print(`  with the relay running: commit → received p50 ${ms(percentile(live, 50))} (LISTEN/NOTIFY wakes the relay); ${after.unsent} rows left in the outbox`);
    await fulfilment.close();
    await deleteGroups(bus, [[OrderPlaced.name, GROUP]]);
    return {
      ran: true,
      committed: COMMITTED + 4,
      rolledBack: 1,
      unsentBeforeRelay: before.unsent,
      received: received.size,
      receivedRolledBack: received.get('o-declined') ?? 0,
      unsentAfter: after.unsent,
      transactionP50Ms: percentile(transaction, 50),
      relayCatchUpMs,
      liveLatencyP50Ms: percentile(live, 50),
    };
  } finally {
    await pool.query(`DROP TABLE IF EXISTS "${ordersTable}", ${outbox.table}`).catch(() => {});
    await pool.end();
  }
}

/** host:port/database of a connection string, for the printout (never its user or password). */
function where(databaseUrl: string): string {
  try {
    const parsed = new URL(databaseUrl);
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

runAsScript(import.meta.url, runOutbox);
