/**
 * (f) An idempotent payment consumer under duplicates: each payment is charged once.
 *
 * Delivery is at least once, so a payment request can arrive twice. Two groups read the same
 * topic: `payments` subscribes with `idempotency: { store }` (a claim per message id in an
 * IdempotencyStore: a duplicate of a charged payment is acked without running the handler again),
 * `payments-naive` without it, to show what the duplicates would cost.
 *
 * Where the duplicates come from:
 * - memory://: the broker's seeded fault injection stores some messages twice
 *   (`memory://?seed=7&duplicates=0.3`, used when the URL has no parameters of its own);
 * - a real broker: every third payment's first delivery "loses its ack" (the consumer dies after
 *   the charge, before the broker heard of it), simulated by consume middleware that throws after
 *   the handler returned; the broker delivers that payment again. A same-id re-publish would not
 *   do everywhere: NATS JetStream drops it itself within its duplicate window.
 */
import { z } from 'zod';
import { MemoryIdempotencyStore, Signal, defineTopic, type Middleware } from '@omnibus/core';
import { banner, deleteGroups, ms, openBus, runAsScript, runSuffix, since, type Print } from './shared.js';

const PAYMENTS = 12;
const IDEMPOTENT = 'payments';
const NAIVE = 'payments-naive';
const GROUPS = [IDEMPOTENT, NAIVE] as const;
type Group = (typeof GROUPS)[number];

export interface IdempotentPaymentsResult {
  /** The URL the example ran on (memory:// gets fault injection added). */
  readonly url: string;
  readonly payments: number;
  /** How the duplicates were made: 'broker fault injection' or 'lost acks'. */
  readonly duplicateSource: string;
  /** Deliveries each group got (payments plus duplicates). */
  readonly deliveries: Readonly<Record<Group, number>>;
  /** Charges per payment id, per group. */
  readonly charges: Readonly<Record<Group, Readonly<Record<string, number>>>>;
  /** Payments charged exactly once / more than once, per group. */
  readonly chargedOnce: Readonly<Record<Group, number>>;
  readonly chargedTwiceOrMore: Readonly<Record<Group, number>>;
  /** Duplicates the idempotent group acked without charging. */
  readonly duplicatesSkipped: number;
  /** First publish to every delivery settled. */
  readonly totalMs: number;
}

const PaymentRequested = z.object({ paymentId: z.string(), amountCents: z.number().int().min(1), card: z.string() });

export async function runIdempotentPayments(url: string, print: Print): Promise<IdempotentPaymentsResult> {
  const memory = url.startsWith('memory://');
  const runUrl = memory && !url.includes('?') ? 'memory://?seed=7&duplicates=0.3' : url;
  const lostAcks = !memory;
  banner(print, 'idempotent payments: duplicates delivered, each payment charged once', runUrl);
  const Payments = defineTopic(`payments.requested.${runSuffix()}`, PaymentRequested);

  const deliveries: Record<Group, number> = { payments: 0, 'payments-naive': 0 };
  const progress = new Signal();
  // Every third payment's first delivery loses its ack (real brokers only): the charge happened,
  // the broker does not know, and delivers the payment again.
  const lostAck = (paymentId: string) => Number(paymentId.slice(2)) % 3 === 0;
  const middleware: Middleware = {
    consume: async (msg, ctx, next) => {
      deliveries[ctx.group as Group] += 1;
      await next();
      progress.notify();
      if (lostAcks && msg.attempt === 1 && lostAck((msg.body as { paymentId: string }).paymentId)) throw new Error('simulated crash before the ack');
    },
  };
  await using bus = await openBus(runUrl, 'omnibus-example-payments', { middleware: [middleware] });

  const charges: Record<Group, Record<string, number>> = { payments: {}, 'payments-naive': {} };
  const charge = (group: Group, paymentId: string) => {
    charges[group][paymentId] = (charges[group][paymentId] ?? 0) + 1; // the card processor's API call
  };

  // Both groups exist before the first payment, so each keeps every payment (and its copies).
  for (const group of GROUPS) await bus.ensureGroup(Payments, group);
  const start = performance.now();
  const payments = Array.from({ length: PAYMENTS }, (_, i) => ({ paymentId: `p-${i + 1}`, amountCents: 1_000 + i * 250, card: `tok_visa_${i + 1}` }));
  await bus.publishBatch(
    Payments,
    payments.map((body) => ({ body, key: body.paymentId })),
  );

  // How many deliveries each group will get: on memory:// the broker says exactly what it stored
  // (nothing is consumed yet); on a broker, one per payment plus one per lost ack.
  const expected: Record<Group, number> = { payments: 0, 'payments-naive': 0 };
  for (const group of GROUPS) {
    expected[group] = memory ? await storedFor(bus, Payments.name, group) : PAYMENTS + payments.filter((p) => lostAck(p.paymentId)).length;
  }
  const duplicateSource = memory ? 'broker fault injection (duplicates=0.3)' : 'lost acks (a redelivery after the charge)';
  print(`  ${PAYMENTS} payments published; duplicates from ${duplicateSource}: ${expected.payments - PAYMENTS} for "${IDEMPOTENT}", ${expected['payments-naive'] - PAYMENTS} for "${NAIVE}"`);

  const retry = { maxAttempts: 5, backoff: { type: 'fixed' as const, delayMs: 0 } };
  const store = new MemoryIdempotencyStore();
  const idempotent = await bus.subscribe(
    Payments,
    async (msg) => {
      // The claim is on ctx.idempotencyKey (`payments:<message id>`); a real handler can commit it
      // in the same database transaction as the charge record.
      charge(IDEMPOTENT, msg.body.paymentId);
    },
    { group: IDEMPOTENT, concurrency: 4, retry, idempotency: { store } },
  );
  const naive = await bus.subscribe(Payments, async (msg) => charge(NAIVE, msg.body.paymentId), { group: NAIVE, concurrency: 4, retry });

  await progress.until(
    () => GROUPS.every((group) => deliveries[group] >= expected[group] && Object.keys(charges[group]).length >= PAYMENTS),
    30_000,
    () => `every delivery of both groups (${GROUPS.map((g) => `${g} ${deliveries[g]}/${expected[g]}`).join(', ')})`,
  );
  const totalMs = since(start);
  await Promise.all([idempotent.close(), naive.close()]);

  const once = (group: Group) => Object.values(charges[group]).filter((n) => n === 1).length;
  const more = (group: Group) => Object.values(charges[group]).filter((n) => n > 1).length;
  const charged = (group: Group) => Object.values(charges[group]).reduce((sum, n) => sum + n, 0);
  const duplicatesSkipped = deliveries.payments - charged(IDEMPOTENT);
  print(`  "${IDEMPOTENT}" (idempotency: MemoryIdempotencyStore): ${deliveries.payments} deliveries, ${charged(IDEMPOTENT)} charges, ${once(IDEMPOTENT)}/${PAYMENTS} payments charged once, ${duplicatesSkipped} duplicates skipped`);
  print(`  "${NAIVE}" (no idempotency): ${deliveries[NAIVE]} deliveries, ${charged(NAIVE)} charges, ${more(NAIVE)} payments charged twice or more`);
  print(`  all settled ${ms(totalMs)} after the publish (the two subscribes included)`);
  await deleteGroups(
    bus,
    GROUPS.map((group) => [Payments.name, group] as const),
  );
  return {
    url: runUrl,
    payments: PAYMENTS,
    duplicateSource,
    deliveries: { ...deliveries },
    charges,
    chargedOnce: { payments: once(IDEMPOTENT), 'payments-naive': once(NAIVE) },
    chargedTwiceOrMore: { payments: more(IDEMPOTENT), 'payments-naive': more(NAIVE) },
    duplicatesSkipped,
    totalMs,
  };
}

/** What the memory broker stored for a group (exact: it is in this process). */
async function storedFor(bus: Awaited<ReturnType<typeof openBus>>, topic: string, group: string): Promise<number> {
  const inspection = await bus.inspect(topic, group);
  return inspection.groups.find((g) => g.group === group)?.waiting?.value ?? 0;
}

runAsScript(import.meta.url, runIdempotentPayments);
