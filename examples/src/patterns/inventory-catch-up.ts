/**
 * (b) Orders and inventory, with the inventory consumer down for a while. Checkout publishes
 * `orders.placed`; the inventory service reserves stock for each order. The inventory service
 * stops (a deploy, a crash), checkout keeps taking orders, and when the service is back it
 * catches up from the broker: nothing published while it was down is lost.
 *
 * The group is durable: the broker keeps the messages for it while it has no consumer.
 */
import { z } from 'zod';
import { Signal, defineTopic, type Bus } from '@omnibus/core';
import { banner, deleteGroups, ms, openBus, percentile, runAsScript, runSuffix, since, work, type Print } from './shared.js';

const BEFORE = 3;
const WHILE_DOWN = 20;
const RESERVE_MS = 5;
/** While inventory is down, an order comes every this many milliseconds (simulated traffic). */
const ORDER_EVERY_MS = 15;
const GROUP = 'inventory';

export interface InventoryResult {
  readonly published: number;
  readonly publishedWhileDown: number;
  /** Distinct orders the inventory service reserved stock for. */
  readonly reserved: number;
  /** Orders never reserved (should be none). */
  readonly missing: readonly string[];
  /** Deliveries of an order already reserved (at-least-once delivery; reserving is keyed by order id). */
  readonly duplicates: number;
  /** Checkout's publish latency while inventory was down: it did not notice. */
  readonly publishWhileDownP50Ms: number;
  /** What the broker said it kept for the group while it was down (undefined where it cannot tell). */
  readonly backlogReported: number | undefined;
  /** From the stop of the inventory service to its restart. */
  readonly downMs: number;
  /** From the restart of the inventory service to its last reservation. */
  readonly catchUpMs: number;
  readonly stockLeft: number;
}

const Order = z.object({ orderId: z.string(), sku: z.string(), quantity: z.number().int().min(1) });

export async function runInventoryCatchUp(url: string, print: Print): Promise<InventoryResult> {
  banner(print, 'inventory catch-up: the consumer is down for a while, nothing is lost', url);
  const OrderPlaced = defineTopic(`orders.placed.${runSuffix()}`, Order);
  await using bus = await openBus(url, 'omnibus-example-inventory');

  let stock = 1_000;
  const reserved = new Set<string>();
  let duplicates = 0;
  const progress = new Signal();
  // Reserving is idempotent by order id: a redelivered order does not take stock twice.
  const startInventory = () =>
    bus.subscribe(
      OrderPlaced,
      async (msg) => {
        await work(RESERVE_MS); // the stock table update
        if (reserved.has(msg.body.orderId)) duplicates += 1;
        else {
          reserved.add(msg.body.orderId);
          stock -= msg.body.quantity;
        }
        progress.notify();
      },
      { group: GROUP, concurrency: 4 },
    );

  const orders = Array.from({ length: BEFORE + WHILE_DOWN }, (_, i) => ({ orderId: `o-${i + 1}`, sku: 'sku-42', quantity: 1 + (i % 3) }));
  let inventory = await startInventory();
  for (const order of orders.slice(0, BEFORE)) await bus.publish(OrderPlaced, order, { key: order.orderId });
  await progress.until(() => reserved.size >= BEFORE, 30_000, () => `${BEFORE} reservations (${reserved.size} so far)`);
  print(`  inventory up: ${BEFORE} orders placed and reserved`);

  await inventory.close();
  const stopped = performance.now();
  print('  inventory service stopped (deploy, crash): checkout keeps taking orders');
  const publishLatency: number[] = [];
  for (const order of orders.slice(BEFORE)) {
    await work(ORDER_EVERY_MS); // the next customer checks out
    const start = performance.now();
    await bus.publish(OrderPlaced, order, { key: order.orderId });
    publishLatency.push(since(start));
  }
  const backlogReported = await waitingFor(bus, OrderPlaced.name);
  print(`  ${WHILE_DOWN} orders placed while it was down, publish p50 ${ms(percentile(publishLatency, 50))}; reserved so far: ${reserved.size}`);
  if (backlogReported !== undefined) print(`  the broker keeps ${backlogReported} of them for group "${GROUP}"`);

  const restart = performance.now();
  const downMs = since(stopped);
  inventory = await startInventory();
  await progress.until(() => reserved.size >= orders.length, 30_000, () => `${orders.length} reservations (${reserved.size} so far)`);
  const catchUpMs = since(restart);
  await inventory.close();

  const missing = orders.map((o) => o.orderId).filter((id) => !reserved.has(id));
  print(`  inventory back after ${ms(downMs)} down: caught up on ${WHILE_DOWN} orders in ${ms(catchUpMs)} (subscribe included); ${reserved.size}/${orders.length} reserved, ${missing.length} lost, ${duplicates} duplicate deliveries skipped`);
  print(`  stock left: ${stock}`);
  await deleteGroups(bus, [[OrderPlaced.name, GROUP]]);
  return {
    published: orders.length,
    publishedWhileDown: WHILE_DOWN,
    reserved: reserved.size,
    missing,
    duplicates,
    publishWhileDownP50Ms: percentile(publishLatency, 50),
    backlogReported,
    downMs,
    catchUpMs,
    stockLeft: stock,
  };
}

/** The group's waiting count (or lag) as the broker reports it; undefined where the transport cannot inspect. */
async function waitingFor(bus: Bus, topic: string): Promise<number | undefined> {
  if (!bus.transport.inspect) return undefined;
  try {
    const inspection = await bus.inspect(topic, GROUP);
    const group = inspection.groups.find((g) => g.group === GROUP);
    return (group?.waiting ?? group?.lag)?.value;
  } catch {
    return undefined; // a figure for the printout, not part of the pattern
  }
}

runAsScript(import.meta.url, runInventoryCatchUp);
