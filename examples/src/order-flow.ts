/**
 * The order flow: a producer publishes three orders, a worker "emails" each one.
 * One email fails once and is retried; one is poison and lands in the dead-letter
 * topic. The same code runs on any broker: BROKER_URL=amqp://… npm run demo.
 */
import { DEAD_LETTER_GROUP, DeadLetterHeaders, Signal, createBus, deadLetterTopicOf, handlerSpy, redactUrl } from '@omnibus/core';
import { startEmailWorker } from './email-worker.js';
import { OrderPlaced } from './topics.js';

export async function runOrderFlow(url: string, log: (line: string) => void = console.log): Promise<{ delivered: string[]; deadLettered: string[] }> {
  log(`omnibus demo on ${redactUrl(url)}`);
  await using bus = await createBus({ url, source: 'omnibus-demo' });

  // Watch the dead-letter topic, as an operator's tool would.
  const deadLetters = handlerSpy<Uint8Array>(async (msg) => {
    const h = msg.envelope;
    log(`  ☠ dead-lettered ${msg.id}: ${h[DeadLetterHeaders.reason]} after ${h[DeadLetterHeaders.attempts]} attempt(s): ${h[DeadLetterHeaders.errorMessage]}`);
  });
  await bus.subscribe(deadLetterTopicOf(OrderPlaced), deadLetters.handler, { group: DEAD_LETTER_GROUP });

  const sent = new Signal();
  let sentCount = 0;
  await startEmailWorker(bus, log, () => {
    sentCount += 1;
    sent.notify();
  });

  const run = Date.now().toString(36);
  const orders = [
    { orderId: `${run}-1`, email: 'ada@example.com', total: 42 },
    { orderId: `${run}-2`, email: 'flaky@example.com', total: 17 },
    { orderId: `${run}-3`, email: 'not-an-address', total: 99 },
  ];
  log('producer: publishing 3 orders');
  const ids = await bus.publishBatch(OrderPlaced, orders.map((body) => ({ body, key: body.email })));

  await sent.until(() => sentCount >= 2, 60_000, () => '2 emails sent');
  const poison = await deadLetters.waitForMessageWithId(ids[2] as string, { timeoutMs: 60_000 });
  log('done: 2 emails sent (one after a retry), 1 order dead-lettered');
  return { delivered: orders.slice(0, 2).map((o) => o.orderId), deadLettered: [poison.message.id] };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runOrderFlow(process.env.BROKER_URL ?? 'memory://').then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
