/**
 * Contract cases for the settlement primitives of a Delivery, driven through `bus.transport`
 * directly: ack is once, nack redelivers with attempt + 1.
 */
import { expect } from 'vitest';
import { type Bus, type Delivery } from '@omnibus/core';
import { uniqueName, type ContractCase } from '../fixtures.js';
import { counter } from './support.js';

const rawSubscribe = async (bus: Bus, topic: string, group: string, onDelivery: (d: Delivery) => void) =>
  bus.transport.subscribe({ topic, group, concurrency: 4, onDelivery, onError: () => {} });

export const primitiveCases: readonly ContractCase[] = [
  {
    name: 'makes ack idempotent and exclusive with nack',
    promise: 'Delivery.ack / Delivery.nack: a delivery is settled once; a second ack, or a nack after an ack, has no effect',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = uniqueName('ack-idem');
      const seen: Delivery[] = [];
      const settled = counter();
      await rawSubscribe(bus, topic, 'g1', (d) => {
        seen.push(d);
        void d.ack().then(() => d.ack()).then(() => d.nack()).then(settled.add);
      });
      const body = new TextEncoder().encode('{}');
      await bus.transport.publish([{ id: 'once', topic, key: undefined, headers: {}, body }]);
      await settled.reach(1, timeoutMs);
      await bus.transport.publish([{ id: 'marker', topic, key: undefined, headers: {}, body }]);
      await settled.reach(2, timeoutMs);
      expect(seen.map((d) => d.message.id)).toEqual(['once', 'marker']);
    },
  },
  {
    name: 'redelivers a nacked delivery with attempt + 1',
    promise: 'Delivery.nack: delivered again with attempt + 1 and the same id, key, headers and body (and the nack headers where redeliveryHeaders)',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = uniqueName('nack');
      const seen: Delivery[] = [];
      const settled = counter();
      await rawSubscribe(bus, topic, 'g1', (d) => {
        seen.push(d);
        const settle = seen.length === 1 ? d.nack({ headers: { 'omnibus-note': 'x' } }) : d.ack();
        void settle.then(settled.add);
      });
      await bus.transport.publish([{ id: 'n1', topic, key: 'k', headers: { a: '1' }, body: new Uint8Array([1, 2, 3]) }]);
      await settled.reach(2, timeoutMs);
      const [first, second] = seen as [Delivery, Delivery];
      expect(second.message.id).toBe('n1');
      expect(second.attempt).toBe(first.attempt + 1);
      expect([...second.message.body]).toEqual([1, 2, 3]);
      expect(second.message.headers.a).toBe('1');
      expect(second.message.key).toBe('k');
      if (bus.transport.capabilities.redeliveryHeaders) expect(second.message.headers['omnibus-note']).toBe('x');
    },
  },
];
