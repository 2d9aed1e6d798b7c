/**
 * Cases that drive the Transport interface directly, under the bus: a transport that is wrong
 * underneath the policy layer fails a case that names the promise of transport.ts it broke.
 * Each case opens a bus only to get a fresh transport from the suite's factory.
 */
import { expect } from 'vitest';
import { Signal, type Delivery, type OutgoingMessage, type Transport, type TransportSubscription } from '@omnibus/core';
import { range, uniqueName } from './fixtures.js';
import type { ContractCase } from './hardening.js';

const body = new TextEncoder().encode('{"n":1}');
const message = (topic: string, id: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage => ({ id, topic, key: undefined, headers: {}, body, ...extra });

/** Deliveries of one raw subscription, waitable. */
function collector() {
  const deliveries: Delivery[] = [];
  const signal = new Signal();
  return {
    deliveries,
    onDelivery: (delivery: Delivery) => {
      deliveries.push(delivery);
      signal.notify();
    },
    until: (condition: () => boolean, timeoutMs: number, what: string) => signal.until(condition, timeoutMs, () => `${what} (${deliveries.length} deliveries)`),
  };
}

function subscribe(transport: Transport, topic: string, group: string, concurrency: number, onDelivery: (d: Delivery) => void): Promise<TransportSubscription> {
  return transport.subscribe({ topic, group, concurrency, onDelivery, onError: () => {} });
}

export const transportCases: readonly ContractCase[] = [
  {
    name: 'Transport: a message round-trips id, key, headers and bytes; an absent key stays undefined',
    promise: 'TransportMessage: every field must round-trip unchanged',
    async run({ pool, timeoutMs }) {
      const { transport } = await pool.open();
      const topic = uniqueName('raw-roundtrip');
      const got = collector();
      await subscribe(transport, topic, 'g', 4, (d) => {
        got.onDelivery(d);
        void d.ack();
      });
      const bytes = new Uint8Array([0, 255, 1, 254, 10, 13]);
      await transport.publish([message(topic, 'with-key', { key: 'k-ü', headers: { 'x-a': 'ä b', 'x-empty': '' }, body: bytes }), message(topic, 'no-key')]);
      await got.until(() => got.deliveries.length >= 2, timeoutMs, 'both messages');
      const withKey = got.deliveries.find((d) => d.message.id === 'with-key');
      const noKey = got.deliveries.find((d) => d.message.id === 'no-key');
      expect(withKey?.message).toMatchObject({ topic, key: 'k-ü', headers: expect.objectContaining({ 'x-a': 'ä b', 'x-empty': '' }) });
      expect([...(withKey?.message.body ?? [])]).toEqual([...bytes]);
      expect(noKey?.message.key).toBeUndefined();
      expect(withKey?.attempt).toBe(1);
    },
  },
  {
    name: 'Transport: never more unsettled deliveries than the concurrency, and the next one once one is settled',
    promise: 'SubscribeParams.concurrency: upper bound on deliveries handed over and not yet settled',
    async run({ pool, timeoutMs }) {
      const { transport } = await pool.open();
      const topic = uniqueName('raw-concurrency');
      await transport.ensureGroup(topic, 'bounded');
      await transport.ensureGroup(topic, 'witness');
      await transport.publish(range(8).map((n) => message(topic, `m${n}`)));
      const held = collector();
      await subscribe(transport, topic, 'bounded', 3, held.onDelivery);
      await held.until(() => held.deliveries.length >= 3, timeoutMs, 'three deliveries');
      // The witness group reading all eight shows the broker had them all to give.
      const witness = collector();
      await subscribe(transport, topic, 'witness', 8, (d) => {
        witness.onDelivery(d);
        void d.ack();
      });
      await witness.until(() => witness.deliveries.length >= 8, timeoutMs, 'the witness group');
      expect(held.deliveries.length).toBe(3);
      await held.deliveries[0]?.ack();
      await held.until(() => held.deliveries.length >= 4, timeoutMs, 'a fourth delivery after one ack');
      expect(held.deliveries.length).toBe(4);
    },
  },
  {
    name: 'Transport: stop() ends hand-overs, and what was handed over can still be settled',
    promise: 'TransportSubscription.stop: resolves when no further onDelivery call will happen; deliveries can be settled afterwards',
    async run({ pool, timeoutMs }) {
      const { transport } = await pool.open();
      const topic = uniqueName('raw-stop');
      const got = collector();
      const subscription = await subscribe(transport, topic, 'g', 4, got.onDelivery);
      await transport.publish([message(topic, 'before')]);
      await got.until(() => got.deliveries.length >= 1, timeoutMs, 'the first delivery');
      await subscription.stop();
      await got.deliveries[0]?.ack();
      const handed = got.deliveries.length;
      await transport.publish([message(topic, 'after')]);
      // Once released, the group's next member gets what was published after the stop (a stopped
      // Kafka member keeps its partitions until it closes, so the release comes first).
      await subscription.close();
      const other = (await pool.open()).transport;
      const next = collector();
      await subscribe(other, topic, 'g', 4, (d) => {
        next.onDelivery(d);
        void d.ack();
      });
      await next.until(() => next.deliveries.some((d) => d.message.id === 'after'), timeoutMs, 'the message published after stop');
      expect(got.deliveries.length).toBe(handed);
      expect(next.deliveries.map((d) => d.message.id)).not.toContain('before');
    },
  },
  {
    name: 'Transport: close() releases unsettled deliveries for redelivery, with the attempt counted',
    promise: 'TransportSubscription.close: unsettled deliveries are released for redelivery (never acked)',
    async run({ pool, timeoutMs }) {
      const { transport } = await pool.open();
      const topic = uniqueName('raw-release');
      const first = collector();
      const subscription = await subscribe(transport, topic, 'g', 2, first.onDelivery);
      await transport.publish([message(topic, 'held')]);
      await first.until(() => first.deliveries.length >= 1, timeoutMs, 'the held delivery');
      await subscription.close();
      await first.deliveries[0]?.ack(); // after close: a no-op, the broker redelivers it
      const other = (await pool.open()).transport;
      const second = collector();
      await subscribe(other, topic, 'g', 2, (d) => {
        second.onDelivery(d);
        void d.ack();
      });
      await second.until(() => second.deliveries.some((d) => d.message.id === 'held'), timeoutMs, 'the released message');
      const again = second.deliveries.find((d) => d.message.id === 'held');
      expect(again?.attempt).toBeGreaterThanOrEqual(2);
    },
  },
];
