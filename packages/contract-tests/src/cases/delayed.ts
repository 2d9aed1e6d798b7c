/**
 * Contract cases for delayed publish: a delayed message comes no earlier than asked and holds
 * nothing back; a negative delay is refused.
 */
import { expect } from 'vitest';
import { handlerSpy } from '@omnibus/core';
import { type ContractCase } from '../fixtures.js';
import { type Order, order, orderTopic } from './support.js';

export const delayedCases: readonly ContractCase[] = [
  {
    name: 'delivers a delayed message no earlier than asked, without blocking others',
    promise: 'OutgoingMessage.delayMs: delivered no earlier than the delay, without holding back other messages',
    features: ['delayedPublish'],
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('delayed');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const sentAt = Date.now();
      const later = await bus.publish(topic, order(1), { delayMs: 1_500 });
      const now = await bus.publish(topic, order(2));
      await spy.waitForMessageWithId(now, wait);
      expect(spy.calls.map((c) => c.message.id)).not.toContain(later);
      const call = await spy.waitForMessageWithId(later, { timeoutMs: timeoutMs + 1_500 });
      expect(call.at - sentAt).toBeGreaterThanOrEqual(1_500 - 50);
    },
  },
  {
    name: 'rejects a negative delay with a ConfigError',
    promise: 'bus.publish delayMs is a number >= 0, else a ConfigError before anything is sent',
    async run({ pool }) {
      const bus = await pool.open();
      await expect(bus.publish(orderTopic('neg-delay'), order(1), { delayMs: -5 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'delayMs' });
    },
  },
];
