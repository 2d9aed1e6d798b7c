/**
 * Contract cases for `bus.inspect`: depth, in-flight, dead letters and lag as the broker
 * reports them. Broker statistics are read asynchronously by some brokers (queue counts,
 * committed offsets), so each case re-reads until the expected figure shows or the wait ends.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { defineTopic, handlerSpy, NonRetryableError, type Bus, type TopicInspection } from '@omnibus/core';
import { gate, range, uniqueName, type ContractCase } from './fixtures.js';

const Job = z.object({ n: z.number() });

/** Re-read the broker until `accept` holds; the last reading is in the failure message. */
async function inspectUntil(bus: Bus, topic: string, group: string, accept: (inspection: TopicInspection) => boolean, timeoutMs: number): Promise<TopicInspection> {
  const deadline = Date.now() + timeoutMs;
  let last: TopicInspection | undefined;
  for (;;) {
    last = await bus.inspect(topic, group);
    if (accept(last)) return last;
    if (Date.now() > deadline) throw new Error(`inspection of ${topic}/${group} never matched; last: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the broker's statistics, not our code, are what we wait for
  }
}

const groupOf = (inspection: TopicInspection, group: string) => inspection.groups.find((g) => g.group === group);

export const inspectionCases: readonly ContractCase[] = [
  {
    name: 'inspect counts messages waiting for a group with no consumer, and none once consumed',
    promise: 'bus.inspect reports depth and lag from the broker itself',
    features: ['inspect'],
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('depth'), Job);
      await bus.ensureGroup(topic, 'g');
      await bus.publishBatch(topic, range(100).map((n) => ({ body: { n } })));
      const before = await inspectUntil(bus, topic.name, 'g', (i) => groupOf(i, 'g')?.waiting?.value === 100, timeoutMs);
      expect(before.topic).toBe(topic.name);
      expect(before.readAt.getTime()).toBeLessThanOrEqual(Date.now());
      const spy = handlerSpy<{ n: number }>();
      await bus.subscribe(topic, spy.handler, { group: 'g', concurrency: 10 });
      await spy.waitForCount(100, { timeoutMs });
      const after = await inspectUntil(bus, topic.name, 'g', (i) => groupOf(i, 'g')?.waiting?.value === 0 && (groupOf(i, 'g')?.inFlight?.value ?? 0) === 0 && (groupOf(i, 'g')?.lag?.value ?? 0) === 0, timeoutMs);
      expect(groupOf(after, 'g')?.waiting?.value).toBe(0);
    },
  },
  {
    name: 'inspect counts deliveries held by slow handlers as in flight',
    promise: 'bus.inspect reports in-flight deliveries',
    features: ['inspect'],
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('inflight'), Job);
      const hold = gate();
      const spy = handlerSpy<{ n: number }>(() => hold.promise);
      await bus.subscribe(topic, spy.handler, { group: 'g', concurrency: 10 });
      await bus.publishBatch(topic, range(10).map((n) => ({ body: { n } })));
      await spy.waitUntil(() => spy.active === 10, { timeoutMs });
      const held = await inspectUntil(bus, topic.name, 'g', (i) => groupOf(i, 'g')?.inFlight?.value === 10, timeoutMs);
      expect(groupOf(held, 'g')?.waiting?.value ?? 0).toBe(0);
      hold.open();
    },
  },
  {
    name: 'inspect counts a dead-lettered message',
    promise: 'bus.inspect reports the dead letters of a topic',
    features: ['inspect'],
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = defineTopic(uniqueName('dead-count'), Job);
      const spy = handlerSpy<{ n: number }>(async () => {
        throw new NonRetryableError('dead at once');
      });
      await bus.subscribe(topic, spy.handler, { group: 'g' });
      const id = await bus.publish(topic, { n: 1 });
      await spy.waitForMessageWithId(id, { timeoutMs, outcome: 'error' });
      const inspection = await inspectUntil(bus, topic.name, 'g', (i) => i.deadLettered?.value === 1, timeoutMs);
      expect(inspection.deadLettered?.value).toBe(1);
    },
  },
];
