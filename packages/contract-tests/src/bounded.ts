/**
 * Contract cases for bounded topics (traffic shaping): a `reject` bound refuses the excess at
 * once with QUEUE_FULL and stores none of it, also with several publishers racing; a
 * `drop-oldest` bound keeps the newest; a retry of a message never falls out of a full topic.
 * Each is gated on the transport's `boundedTopics` capability.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { defineTopic, handlerSpy, isOmnibusError, type Bus, type TopicBound } from '@omnibus/core';
import { gate, range, uniqueName, type ContractCase } from './fixtures.js';

const Seat = z.object({ n: z.number(), pad: z.string().optional() });
type Seat = z.infer<typeof Seat>;

interface Outcomes {
  readonly accepted: { readonly id: string; readonly n: number }[];
  readonly refused: number[];
  readonly other: unknown[];
}

/** Publish every n concurrently, one publish call each, from the given buses in turn. */
async function race(buses: readonly Bus[], topic: ReturnType<typeof boundedTopic>, ns: readonly number[], pad?: string): Promise<Outcomes> {
  const outcomes: Outcomes = { accepted: [], refused: [], other: [] };
  await Promise.all(
    ns.map(async (n, index) => {
      const bus = buses[index % buses.length] as Bus;
      try {
        const id = await bus.publish(topic, pad === undefined ? { n } : { n, pad });
        outcomes.accepted.push({ id, n });
      } catch (error) {
        if (isOmnibusError(error, 'QUEUE_FULL')) outcomes.refused.push(n);
        else outcomes.other.push(error);
      }
    }),
  );
  return outcomes;
}

/**
 * Publish, trying again on QUEUE_FULL until `timeoutMs`: what a producer does once consumers
 * caught up, and the only portable way to see that the broker took their acks into account.
 */
async function publishOnceRoom(bus: Bus, topic: ReturnType<typeof boundedTopic>, body: Seat, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await bus.publish(topic, body);
    } catch (error) {
      if (!isOmnibusError(error, 'QUEUE_FULL') || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50)); // a producer's back-off, not a wait for an event
    }
  }
}

function boundedTopic(label: string, bound: TopicBound) {
  return defineTopic(uniqueName(label), Seat, { bound });
}

export const boundedCases: readonly ContractCase[] = [
  {
    name: 'a reject bound refuses the excess of four racing publishers with QUEUE_FULL and stores none of it',
    promise: 'bounded topics: publish beyond the bound rejects at once with QUEUE_FULL and nothing is stored; the bound holds with several publishers',
    features: ['boundedReject'],
    async run({ pool, timeoutMs }) {
      const bound = 10;
      const topic = boundedTopic('bound-reject', { maxMessages: bound, overflow: 'reject' });
      const consumer = await pool.open();
      await consumer.ensureGroup(topic, 'sale');
      const publishers = await Promise.all(range(4).map(() => pool.open()));
      const outcomes = await race(publishers, topic, range(40));
      expect(outcomes.other).toEqual([]);
      // Exact for publishers of one process on every transport that declares the capability (an
      // 'emulated' bound, Kafka's, may overshoot across processes: see its README).
      expect(outcomes.accepted.length).toBe(bound);
      expect(outcomes.refused.length).toBe(40 - bound);

      const spy = handlerSpy<Seat>();
      await consumer.subscribe(topic, spy.handler, { group: 'sale', concurrency: 4 });
      await spy.waitForCount(bound, { timeoutMs });
      // Room again once consumed: a later publish is accepted. Where the broker counts unacked
      // messages (NATS) or uncommitted ones (Kafka), the acks of the ten must have reached it first.
      const late = await publishOnceRoom(publishers[0] as Bus, topic, { n: 1_000 }, timeoutMs);
      await spy.waitForMessageWithId(late, { timeoutMs });
      const received = spy.calls.map((call) => call.message.body.n).filter((n) => n !== 1_000);
      expect(received.sort((a, b) => a - b)).toEqual(outcomes.accepted.map((a) => a.n).sort((a, b) => a - b));
    },
  },
  {
    name: 'a drop-oldest bound keeps the newest messages',
    promise: 'bounded topics: overflow drop-oldest discards the oldest waiting messages',
    features: ['boundedDropOldest'],
    async run({ pool, timeoutMs }) {
      const topic = boundedTopic('bound-drop', { maxMessages: 5, overflow: 'drop-oldest' });
      const bus = await pool.open();
      await bus.ensureGroup(topic, 'feed');
      for (const n of range(12)) await bus.publish(topic, { n });
      const spy = handlerSpy<Seat>();
      await bus.subscribe(topic, spy.handler, { group: 'feed' });
      await spy.waitForCount(5, { timeoutMs });
      const late = await publishOnceRoom(bus, topic, { n: 1_000 }, timeoutMs);
      await spy.waitForMessageWithId(late, { timeoutMs });
      expect(spy.calls.map((call) => call.message.body.n)).toEqual([7, 8, 9, 10, 11, 1_000]);
    },
  },
  {
    name: 'a reject bound in bytes refuses what does not fit',
    promise: 'bounded topics: maxBytes bounds the bytes kept waiting',
    features: ['boundedRejectByBytes'],
    async run({ pool, timeoutMs }) {
      const maxBytes = 8 * 1024;
      const topic = boundedTopic('bound-bytes', { maxBytes, overflow: 'reject' });
      const bus = await pool.open();
      await bus.ensureGroup(topic, 'logs');
      const pad = 'x'.repeat(1_000);
      const outcomes: Outcomes = { accepted: [], refused: [], other: [] };
      for (const n of range(20)) {
        try {
          outcomes.accepted.push({ id: await bus.publish(topic, { n, pad }), n });
        } catch (error) {
          if (isOmnibusError(error, 'QUEUE_FULL')) outcomes.refused.push(n);
          else outcomes.other.push(error);
        }
      }
      expect(outcomes.other).toEqual([]);
      expect(outcomes.accepted.length).toBeGreaterThan(0);
      expect(outcomes.accepted.length * pad.length).toBeLessThanOrEqual(maxBytes);
      expect(outcomes.refused.length).toBeGreaterThan(0);
      const spy = handlerSpy<Seat>();
      await bus.subscribe(topic, spy.handler, { group: 'logs' });
      await spy.waitForCount(outcomes.accepted.length, { timeoutMs });
      expect(new Set(spy.calls.map((call) => call.message.id))).toEqual(new Set(outcomes.accepted.map((a) => a.id)));
    },
  },
  {
    name: 'a delayed retry is never lost when its bounded topic filled up meanwhile',
    promise: 'nothing we ship may lose a message it promised to keep: a retry re-enters a full topic',
    features: ['boundedReject'],
    async run({ pool, timeoutMs }) {
      const topic = boundedTopic('bound-retry', { maxMessages: 3, overflow: 'reject' });
      const bus = await pool.open();
      const hold = gate();
      const failedOnce = gate();
      const spy = handlerSpy<Seat>(async (message, ctx) => {
        if (message.body.n === 0 && ctx.attempt === 1) {
          failedOnce.open();
          throw new Error('first attempt fails');
        }
        if (message.body.n !== 0) await hold.promise;
      });
      await bus.subscribe(topic, spy.handler, { group: 'work', concurrency: 1, retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 300, jitter: false } } });
      await bus.publish(topic, { n: 0 });
      await failedOnce.promise;
      // n=1 is taken by the (held) handler; 2..4 fill the topic while the retry of n=0 is delayed.
      await bus.publish(topic, { n: 1 });
      await spy.waitUntil(() => spy.active === 1, { timeoutMs, what: 'n=1 in its (held) handler' });
      const outcomes = await race([bus], topic, [2, 3, 4, 5]);
      expect(outcomes.other).toEqual([]);
      hold.open();
      await spy.waitUntil(() => spy.calls.some((call) => call.message.body.n === 0 && call.message.attempt === 2), { timeoutMs });
      for (const { id } of outcomes.accepted) await spy.waitForMessageWithId(id, { timeoutMs });
    },
  },
];
