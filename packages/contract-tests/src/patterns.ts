/**
 * Contract cases for the patterns core builds on every transport: a consumer rate limit that
 * never settles anything while it waits, batch consumption with an outcome per message, and
 * scheduled delivery at a time (`deliverAt`). They need nothing of a transport beyond the
 * interface, except delayed publish for scheduling.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { DEAD_LETTER_GROUP, deadLetterTopicOf, defineTopic, handlerSpy, type Message, Signal } from '@omnibus/core';
import { range, uniqueName, type ContractCase } from './fixtures.js';

const Job = z.object({ n: z.number() });
type Job = z.infer<typeof Job>;

const fixedRetry = { maxAttempts: 3, backoff: { type: 'fixed' as const, delayMs: 50, jitter: false } };

export const patternCases: readonly ContractCase[] = [
  {
    name: 'a rate limit spaces handler starts across concurrent handlers and settles nothing while waiting',
    promise: 'subscribe rateLimit: a token bucket shared by the subscription, never dropping or acking while waiting',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('rate'), Job);
      const messages = 4;
      const perMs = 250;
      const starts: number[] = [];
      const spy = handlerSpy<Job>(() => {
        starts.push(performance.now());
      });
      await bus.subscribe(topic, spy.handler, { group: 'slow', concurrency: 8, rateLimit: { messages, perMs } });
      await bus.publishBatch(topic, range(12).map((n) => ({ body: { n } })));
      await spy.waitForCount(12, { timeoutMs });
      // A bucket of 4 refilled by one token every 62.5 ms: in any span, at most 4 + span / 62.5 starts.
      starts.sort((a, b) => a - b);
      const interval = perMs / messages;
      for (let i = 0; i < starts.length; i++) {
        for (let j = i + messages; j < starts.length; j++) {
          expect((starts[j] as number) - (starts[i] as number)).toBeGreaterThanOrEqual((j - i + 1 - messages) * interval - 5);
        }
      }
      // Waiting is not failing: every message ran once, on its first attempt.
      expect(spy.calls.every((call) => call.attempt === 1 && call.outcome === 'ack')).toBe(true);
      expect(new Set(spy.calls.map((call) => call.message.body.n)).size).toBe(12);
    },
  },
  {
    name: 'a subscription closed while deliveries wait for the rate limit releases them for redelivery',
    promise: 'subscribe rateLimit: waiting deliveries are released on close, never acked',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('rate-close'), Job);
      const first = handlerSpy<Job>();
      const subscription = await bus.subscribe(topic, first.handler, { group: 'g', concurrency: 5, rateLimit: { messages: 1, perMs: 60_000 } });
      await bus.publishBatch(topic, range(5).map((n) => ({ body: { n } })));
      await first.waitForCount(1, { timeoutMs });
      await subscription.close();
      expect(first.calls.length).toBe(1);
      const rest = handlerSpy<Job>();
      await bus.subscribe(topic, rest.handler, { group: 'g', concurrency: 5 });
      await rest.waitUntil(() => new Set(rest.calls.map((c) => c.message.body.n)).size >= 4, { timeoutMs });
      const ran = new Set([...first.calls, ...rest.calls].map((c) => c.message.body.n));
      expect(ran).toEqual(new Set(range(5)));
    },
  },
  {
    name: 'subscribeBatch hands over batches of at most maxBatch, with one outcome per message',
    promise: 'subscribeBatch: every message keeps its own outcome (acked, retried alone, dead-lettered alone)',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('batch'), Job);
      const dead = handlerSpy<Uint8Array>();
      await bus.subscribe(deadLetterTopicOf(topic), dead.handler, { group: DEAD_LETTER_GROUP });
      const sizes: number[] = [];
      const seen: Message<Job>[] = [];
      const signal = new Signal();
      await bus.subscribeBatch(
        topic,
        (batch, ctx) => {
          sizes.push(batch.length);
          for (const message of batch) {
            seen.push(message);
            if (message.body.n === 3 && message.attempt === 1) ctx.retry(message, { delayMs: 50 });
            if (message.body.n === 7) ctx.deadLetter(message, 'n=7 is refused');
          }
          signal.notify();
        },
        { group: 'logs', maxBatch: 10, maxWaitMs: 200, retry: fixedRetry },
      );
      await bus.publishBatch(topic, range(25).map((n) => ({ body: { n } })));
      await signal.until(() => seen.some((m) => m.body.n === 3 && m.attempt === 2), timeoutMs, () => `n=3 again (seen ${seen.length})`);
      await dead.waitForCount(1, { timeoutMs });
      // A message after the rest shows nothing else comes again.
      const marker = await bus.publish(topic, { n: 100 });
      await signal.until(() => seen.some((m) => m.id === marker), timeoutMs, () => 'the marker');
      expect(Math.max(...sizes)).toBeLessThanOrEqual(10);
      const times = (n: number) => seen.filter((m) => m.body.n === n).length;
      expect(range(25).filter((n) => times(n) !== (n === 3 ? 2 : 1))).toEqual([]);
      expect(dead.calls[0]?.message.envelope['omnibus-dlq-reason']).toBe('explicit');
    },
  },
  {
    name: 'a batch handler that throws retries each message of the batch by its own policy',
    promise: 'subscribeBatch: a failed batch is retried message by message',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('batch-fail'), Job);
      const retried = new Set<string>();
      let failed: readonly string[] | undefined;
      const signal = new Signal();
      await bus.subscribeBatch(
        topic,
        (batch) => {
          for (const message of batch) if (message.attempt === 2) retried.add(message.id);
          signal.notify();
          if (failed === undefined) {
            failed = batch.map((message) => message.id);
            throw new Error('the first batch fails');
          }
        },
        { group: 'logs', maxBatch: 5, maxWaitMs: 100, retry: fixedRetry },
      );
      await bus.publishBatch(topic, range(5).map((n) => ({ body: { n } })));
      await signal.until(() => failed !== undefined && failed.every((id) => retried.has(id)), timeoutMs, () => `every message of the failed batch on attempt 2 (${retried.size} of ${failed?.length})`);
      expect(failed?.length).toBeGreaterThan(0);
    },
  },
  {
    name: 'deliverAt delivers no earlier than the time given, and a past time at once',
    promise: 'publish deliverAt: scheduled delivery next to delayMs',
    features: ['delayedPublish'],
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('deliver-at'), Job);
      const spy = handlerSpy<Job>();
      await bus.subscribe(topic, spy.handler, { group: 'g' });
      const at = new Date(Date.now() + 1_500);
      const scheduled = await bus.publish(topic, { n: 1 }, { deliverAt: at });
      const past = await bus.publish(topic, { n: 2 }, { deliverAt: new Date(Date.now() - 60_000) });
      await spy.waitForMessageWithId(past, { timeoutMs });
      expect(spy.calls.map((c) => c.message.id)).not.toContain(scheduled);
      const call = await spy.waitForMessageWithId(scheduled, { timeoutMs: timeoutMs + 1_500 });
      expect(call.at).toBeGreaterThanOrEqual(at.getTime() - 50);
    },
  },
];

