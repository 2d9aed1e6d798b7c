/**
 * (c) A flash sale on a bounded topic. The queue of orders waiting for fulfilment holds at most
 * STOCK orders (`bound: { maxMessages, overflow: 'reject' }`). BUYERS click "buy" at once: the
 * first STOCK orders are accepted, every other publish is refused at once with a QueueFullError
 * (code QUEUE_FULL), so the shop answers "sold out" in milliseconds instead of queueing orders it
 * cannot serve. Fulfilment then ships exactly the accepted orders.
 *
 * A transport that cannot keep a reject bound says so, and the example demonstrates nothing there.
 */
import { z } from 'zod';
import { Signal, defineTopic, isOmnibusError } from '@omnibus/core';
import { banner, deleteGroups, ms, openBus, percentile, runAsScript, runSuffix, since, work, type Print } from './shared.js';

const STOCK = 10;
const BUYERS = 40;
const GROUP = 'fulfilment';

export interface FlashSaleResult {
  /** False where the transport cannot bound a topic with `reject` (nothing else is then measured). */
  readonly supported: boolean;
  /** How the transport keeps the bound ('native', 'emulated'), when it does. */
  readonly support: string;
  readonly bound: number;
  readonly buyers: number;
  readonly accepted: number;
  readonly refused: number;
  /** Publishes that failed otherwise than QUEUE_FULL (should be none). */
  readonly failed: number;
  /** Click to "order accepted" (the broker stored it) / to "sold out" (QUEUE_FULL). */
  readonly acceptedP50Ms: number;
  readonly refusalP50Ms: number;
  readonly refusalMaxMs: number;
  /** Orders fulfilment shipped: the accepted ones, none of the refused. */
  readonly shipped: number;
}

export async function runFlashSale(url: string, print: Print): Promise<FlashSaleResult> {
  banner(print, `flash sale: ${STOCK} in stock, ${BUYERS} buyers at once, the excess refused at once`, url);
  await using bus = await openBus(url, 'omnibus-example-flash-sale');
  const support = bus.transport.capabilities.boundedTopics?.reject ?? 'none';
  if (support === 'none') {
    print(`  transport "${bus.transport.name}" cannot bound a topic with overflow "reject": nothing is refused here, so this example demonstrates nothing on it`);
    return { supported: false, support, bound: STOCK, buyers: BUYERS, accepted: 0, refused: 0, failed: 0, acceptedP50Ms: 0, refusalP50Ms: 0, refusalMaxMs: 0, shipped: 0 };
  }

  const SaleOrder = defineTopic(`sale.orders.${runSuffix()}`, z.object({ buyer: z.string(), sku: z.string() }), {
    bound: { maxMessages: STOCK, overflow: 'reject' },
  });
  // The fulfilment group exists before the sale opens, so the accepted orders are kept for it.
  await bus.ensureGroup(SaleOrder, GROUP);
  print(`  orders topic bounded at ${STOCK} waiting orders, overflow "reject" (${support} on ${bus.transport.name})`);

  const acceptedMs: number[] = [];
  const refusedMs: number[] = [];
  const acceptedBuyers = new Set<string>();
  let failed = 0;
  await Promise.all(
    Array.from({ length: BUYERS }, async (_, i) => {
      const buyer = `buyer-${i + 1}`;
      const click = performance.now();
      try {
        await bus.publish(SaleOrder, { buyer, sku: 'limited-sneaker' }, { key: buyer });
        acceptedMs.push(since(click));
        acceptedBuyers.add(buyer);
      } catch (error) {
        if (isOmnibusError(error, 'QUEUE_FULL')) refusedMs.push(since(click)); // "sold out, sorry"
        else failed += 1;
      }
    }),
  );
  print(`  ${acceptedMs.length} orders accepted (p50 ${ms(percentile(acceptedMs, 50))}), ${refusedMs.length} refused with QUEUE_FULL in ${ms(percentile(refusedMs, 50))} p50 (max ${ms(Math.max(0, ...refusedMs))})${failed ? `, ${failed} failed otherwise` : ''}`);

  // Fulfilment ships what was accepted; nothing refused ever reaches it.
  const shipped = new Set<string>();
  const progress = new Signal();
  const fulfilment = await bus.subscribe(
    SaleOrder,
    async (msg) => {
      await work(5); // pick, pack, label
      shipped.add(msg.body.buyer);
      progress.notify();
    },
    { group: GROUP, concurrency: 4 },
  );
  await progress.until(() => shipped.size >= acceptedBuyers.size, 30_000, () => `${acceptedBuyers.size} orders shipped (${shipped.size} so far)`);
  await fulfilment.close();
  const strays = [...shipped].filter((buyer) => !acceptedBuyers.has(buyer)).length;
  print(`  fulfilment shipped ${shipped.size} orders: every accepted one${strays ? `, and ${strays} refused ones (a bug)` : ', none of the refused'}`);
  await deleteGroups(bus, [[SaleOrder.name, GROUP]]);
  return {
    supported: true,
    support,
    bound: STOCK,
    buyers: BUYERS,
    accepted: acceptedMs.length,
    refused: refusedMs.length,
    failed,
    acceptedP50Ms: percentile(acceptedMs, 50),
    refusalP50Ms: percentile(refusedMs, 50),
    refusalMaxMs: Math.max(0, ...refusedMs),
    shipped: shipped.size - strays,
  };
}

runAsScript(import.meta.url, runFlashSale);
