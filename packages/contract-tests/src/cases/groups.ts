/**
 * Contract cases for consumer groups: a group keeps its messages while nobody reads it (and from
 * ensureGroup on), the concurrency bound, and order per key where the transport declares it.
 */
import { expect } from 'vitest';
import { handlerSpy } from '@omnibus/core';
import { gate, range, type ContractCase } from '../fixtures.js';
import { type Order, order, orderTopic } from './support.js';

export const groupCases: readonly ContractCase[] = [
  {
    name: 'keeps messages for a group while its consumers are down',
    promise: 'a group is durable: what is published while it has no consumer is kept for it',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const topic = orderTopic('durable');
      const first = await pool.open();
      const before = handlerSpy<Order>();
      const sub = await first.subscribe(topic, before.handler, { group: 'billing' });
      await sub.close();
      const ids = await (await pool.open()).publishBatch(topic, range(100).map((i) => ({ body: order(i) })));
      const after = handlerSpy<Order>();
      await (await pool.open()).subscribe(topic, after.handler, { group: 'billing', concurrency: 4 });
      await after.waitUntil(() => new Set(after.calls.map((c) => c.message.id)).size >= 100, wait);
      expect(new Set(after.calls.map((c) => c.message.id))).toEqual(new Set(ids));
    },
  },
  {
    name: 'ensureGroup keeps messages published before the first consumer',
    promise: 'Transport.ensureGroup: creates the durable group if missing, so the topic\'s messages are kept for it',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const topic = orderTopic('ensure');
      const bus = await pool.open();
      await bus.ensureGroup(topic, 'late');
      const ids = await bus.publishBatch(topic, range(10).map((i) => ({ body: order(i) })));
      const spy = handlerSpy<Order>();
      await (await pool.open()).subscribe(topic, spy.handler, { group: 'late' });
      await spy.waitUntil(() => new Set(spy.calls.map((c) => c.message.id)).size >= 10, wait);
      expect(new Set(spy.calls.map((c) => c.message.id))).toEqual(new Set(ids));
    },
  },
  {
    name: 'never runs more handlers at once than the concurrency',
    promise: 'SubscribeParams.concurrency: never more handlers at once than the bound (and handlers do run in parallel)',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('concurrency');
      const release = gate();
      const spy = handlerSpy<Order>(async () => {
        // Hold handlers until two run at once: proves parallelism without demanding the full bound.
        if (spy.active >= 2) release.open();
        await release.promise;
      });
      await bus.subscribe(topic, spy.handler, { group: 'g1', concurrency: 3 });
      await bus.publishBatch(topic, range(24).map((i) => ({ body: order(i), key: `k${i}` })));
      await spy.waitForCount(24, wait);
      expect(spy.maxActive).toBeLessThanOrEqual(3);
      expect(spy.maxActive).toBeGreaterThanOrEqual(2);
    },
  },
  {
    name: 'delivers in publish order per key',
    promise: 'TransportCapabilities.orderingByKey: messages of one key are handed over in publish order',
    features: ['orderingByKey'],
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('ordering');
      const started: Order[] = [];
      const spy = handlerSpy<Order>(async (msg) => {
        started.push(msg.body);
        if (msg.body.total % 3 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      });
      await bus.subscribe(topic, spy.handler, { group: 'g1', concurrency: 4 });
      const items = range(90).map((i) => ({ body: order(i), key: `key-${i % 3}` }));
      for (let i = 0; i < items.length; i += 30) await bus.publishBatch(topic, items.slice(i, i + 30));
      await spy.waitForCount(90, wait);
      for (const key of [0, 1, 2]) {
        const seen = started.filter((o) => o.total % 3 === key).map((o) => o.total);
        expect(seen).toEqual([...seen].sort((x, y) => x - y));
      }
    },
  },
];
