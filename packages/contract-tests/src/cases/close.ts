/**
 * Contract cases for closing a subscription: in-flight handlers finish and are acked, and what
 * outlives the drain timeout is released for redelivery.
 */
import { expect } from 'vitest';
import { handlerSpy } from '@omnibus/core';
import { gate, range, type ContractCase } from '../fixtures.js';
import { type Order, order, orderTopic } from './support.js';

export const closeCases: readonly ContractCase[] = [
  {
    name: 'lets in-flight handlers finish and acks them, processing none twice',
    promise: 'subscription.close drains: in-flight handlers finish and are acked, and none is processed twice',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('drain');
      const hold = gate();
      const spy = handlerSpy<Order>(async () => {
        await hold.promise;
      });
      const sub = await bus.subscribe(topic, spy.handler, { group: 'g1', concurrency: 4 });
      const ids = await bus.publishBatch(topic, range(4).map((i) => ({ body: order(i), key: `k${i}` })));
      await spy.waitUntil(() => spy.active >= 1, wait);
      const closing = sub.close({ timeoutMs: 10_000 });
      hold.open();
      await closing;
      const finished = spy.calls.filter((c) => c.outcome === 'ack').map((c) => c.message.id);
      expect(finished.length).toBeGreaterThan(0);
      const after = handlerSpy<Order>();
      const reopened = await pool.open();
      await reopened.subscribe(topic, after.handler, { group: 'g1', concurrency: 4 });
      const marker = await reopened.publish(topic, order(100));
      await after.waitForMessageWithId(marker, wait);
      await after.waitUntil(() => new Set([...finished, ...after.calls.map((c) => c.message.id)]).size >= ids.length + 1, wait);
      expect(after.calls.map((c) => c.message.id).filter((id) => finished.includes(id))).toEqual([]);
    },
  },
  {
    name: 'releases handlers that outlive the drain timeout for redelivery',
    promise: 'subscription.close({ timeoutMs }): handlers still running at the timeout are aborted and their deliveries released for redelivery (TransportSubscription.close: never acked)',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('drain-timeout');
      const aborted = handlerSpy<Order>();
      const stuck = handlerSpy<Order>(async (msg, ctx) => {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
        await aborted.handler(msg, ctx);
      });
      const sub = await bus.subscribe(topic, stuck.handler, { group: 'g1' });
      const id = await bus.publish(topic, order(1));
      await stuck.waitUntil(() => stuck.active === 1, wait);
      await sub.close({ timeoutMs: 200 });
      await aborted.waitForMessageWithId(id, wait);
      const again = handlerSpy<Order>();
      await (await pool.open()).subscribe(topic, again.handler, { group: 'g1' });
      const redelivered = await again.waitForMessageWithId(id, wait);
      expect(redelivered.message.body).toEqual(order(1));
    },
  },
];
