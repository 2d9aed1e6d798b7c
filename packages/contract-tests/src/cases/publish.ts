/**
 * Contract cases for publishing and receiving through the bus: what goes in comes out (body, key,
 * headers, id, envelope), batches, volume, concurrent publishers and consumers, topic isolation,
 * fan-out to groups and competition within one, validation, use after close, middleware and a
 * large body.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import { ClosedError, Headers, ValidationError, defineTopic, handlerSpy } from '@omnibus/core';
import { range, uniqueName, type ContractCase } from '../fixtures.js';
import { type Order, order, orderTopic, waitAll } from './support.js';

export const publishCases: readonly ContractCase[] = [
  {
    name: 'round-trips body, key, headers, id and envelope',
    promise: 'TransportMessage: every field must round-trip unchanged (body, key, headers, id), with the CloudEvents envelope core writes',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open({ source: 'contract-suite' });
      const topic = orderTopic('roundtrip');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const tricky = 'line one\r\nline two: "quoted" ünïcødé ✓';
      const id = await bus.publish(topic, order(1), { key: 'customer-7', headers: { tenant: 'a', traceparent, tricky } });
      const call = await spy.waitForMessageWithId(id, wait);
      expect(call.message.body).toEqual(order(1));
      expect(call.message.key).toBe('customer-7');
      expect(call.message.headers).toEqual({ tenant: 'a', traceparent, tricky });
      expect(call.message.topic).toBe(topic.name);
      expect(call.message.attempt).toBe(1);
      expect(call.message.envelope[Headers.id]).toBe(id);
      expect(call.message.envelope[Headers.source]).toBe('contract-suite');
      expect(call.message.envelope[Headers.type]).toBe(topic.name);
      expect(call.message.envelope[Headers.specVersion]).toBe('1.0');
      expect(call.message.envelope[Headers.contentType]).toBe('application/json');
      expect(Math.abs(call.message.publishedAt.getTime() - Date.now())).toBeLessThan(60_000);
    },
  },
  {
    name: 'keeps an absent key absent and honours a caller-chosen id',
    promise: 'TransportMessage.key: undefined when the publisher gave none; bus.publish({ id }) is the message\'s id',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('nokey');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const id = await bus.publish(topic, order(2), { id: 'my-id-42' });
      expect(id).toBe('my-id-42');
      const call = await spy.waitForMessageWithId('my-id-42', wait);
      expect(call.message.key).toBeUndefined();
      expect(call.message.headers).toEqual({});
    },
  },
  {
    name: 'publishes a batch and returns one id per message',
    promise: 'bus.publishBatch returns one id per message, and every message of the batch is delivered',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('batch');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1', concurrency: 4 });
      const ids = await bus.publishBatch(topic, range(50).map((i) => ({ body: order(i), key: `k${i % 5}` })));
      expect(new Set(ids).size).toBe(50);
      const calls = await spy.waitForCount(50, wait);
      expect(new Set(calls.map((c) => c.message.id))).toEqual(new Set(ids));
    },
  },
  {
    name: 'delivers {volume} messages with none lost',
    promise: 'Transport.publish resolves only when the broker has durably accepted every message: none is lost',
    async run({ pool, timeoutMs, volume }) {
      const bus = await pool.open();
      const topic = orderTopic('volume');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1', concurrency: 8 });
      const ids: string[] = [];
      for (let start = 0; start < volume; start += 100) {
        ids.push(...(await bus.publishBatch(topic, range(Math.min(100, volume - start)).map((i) => ({ body: order(start + i) })))));
      }
      await spy.waitUntil(() => new Set(spy.calls.map((c) => c.message.id)).size >= volume, { timeoutMs: timeoutMs * 3 });
      const received = new Set(spy.calls.map((c) => c.message.id));
      expect(ids.filter((id) => !received.has(id))).toEqual([]);
    },
  },
  {
    name: 'handles concurrent publishers and subscribers in one group',
    promise: 'at-least-once delivery holds with several publishers and several consumers of one group at once',
    async run({ pool, timeoutMs }) {
      const topic = orderTopic('concurrent');
      const spies = [handlerSpy<Order>(), handlerSpy<Order>(), handlerSpy<Order>()];
      for (const spy of spies) await (await pool.open()).subscribe(topic, spy.handler, { group: 'workers', concurrency: 4 });
      const publishers = await Promise.all(range(4).map(() => pool.open()));
      const ids = (
        await Promise.all(
          publishers.map(async (bus, p) => {
            const sent: string[] = [];
            for (let i = 0; i < 50; i += 1) sent.push(await bus.publish(topic, order(p * 1000 + i), { key: `p${p}-${i % 7}` }));
            return sent;
          }),
        )
      ).flat();
      const received = () => new Set(spies.flatMap((spy) => spy.calls.map((c) => c.message.id)));
      await waitAll(spies, () => received().size >= ids.length, timeoutMs);
      expect(ids.filter((id) => !received().has(id))).toEqual([]);
    },
  },
  {
    name: 'keeps topics isolated',
    promise: 'a subscription receives only its own topic\'s messages',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const a = orderTopic('iso-a');
      const b = orderTopic('iso-b');
      const spyA = handlerSpy<Order>();
      const spyB = handlerSpy<Order>();
      await bus.subscribe(a, spyA.handler, { group: 'g1' });
      await bus.subscribe(b, spyB.handler, { group: 'g1' });
      const onA = await bus.publish(a, order(1));
      const onB = await bus.publish(b, order(2));
      await spyA.waitForMessageWithId(onA, wait);
      await spyB.waitForMessageWithId(onB, wait);
      expect(spyA.calls.map((c) => c.message.id)).not.toContain(onB);
      expect(spyB.calls.map((c) => c.message.id)).not.toContain(onA);
    },
  },
  {
    name: 'fans out to every group',
    promise: 'every group of a topic receives every message of the topic',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const topic = orderTopic('fanout');
      const billing = handlerSpy<Order>();
      const shipping = handlerSpy<Order>();
      await (await pool.open()).subscribe(topic, billing.handler, { group: 'billing' });
      await (await pool.open()).subscribe(topic, shipping.handler, { group: 'shipping' });
      const ids = await (await pool.open()).publishBatch(topic, range(20).map((i) => ({ body: order(i) })));
      for (const spy of [billing, shipping]) {
        await spy.waitUntil(() => new Set(spy.calls.map((c) => c.message.id)).size >= 20, wait);
        expect(new Set(spy.calls.map((c) => c.message.id))).toEqual(new Set(ids));
      }
    },
  },
  {
    name: 'splits a group between competing consumers (each message to one of them)',
    promise: 'the consumers of one group share its messages: each is handed to one of them (to another only as a redelivery)',
    async run({ pool, timeoutMs }) {
      const topic = orderTopic('compete');
      const first = handlerSpy<Order>();
      const second = handlerSpy<Order>();
      await (await pool.open()).subscribe(topic, first.handler, { group: 'workers', concurrency: 2 });
      await (await pool.open()).subscribe(topic, second.handler, { group: 'workers', concurrency: 2 });
      const ids = await (await pool.open()).publishBatch(topic, range(40).map((i) => ({ body: order(i), key: `k${i}` })));
      const all = () => [...first.calls, ...second.calls];
      await waitAll([first, second], () => new Set(all().map((c) => c.message.id)).size >= 40, timeoutMs);
      expect(new Set(all().map((c) => c.message.id))).toEqual(new Set(ids));
      // A message seen by both consumers must have been a redelivery, never a fan-out.
      const firstIds = new Set(first.calls.filter((c) => c.attempt === 1).map((c) => c.message.id));
      const bothFirstAttempt = second.calls.filter((c) => c.attempt === 1 && firstIds.has(c.message.id));
      expect(bothFirstAttempt).toEqual([]);
    },
  },
  {
    name: 'rejects an invalid body before sending anything',
    promise: 'bus.publish validates the body against the topic\'s schema before anything is sent (ValidationError)',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const topic = orderTopic('invalid-publish');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const bad = { orderId: 7, total: 'lots' } as unknown as Order;
      await expect(bus.publish(topic, bad)).rejects.toBeInstanceOf(ValidationError);
      await expect(bus.publishBatch(topic, [{ body: order(1) }, { body: bad }])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const marker = await bus.publish(topic, order(99));
      await spy.waitForMessageWithId(marker, wait);
      expect(spy.calls.map((c) => c.message.body.orderId)).toEqual(['o-99']);
    },
  },
  {
    name: 'rejects use after close with a ClosedError',
    promise: 'a closed bus refuses to publish with a ClosedError',
    async run({ pool }) {
      const bus = await pool.open();
      await bus.close();
      await expect(bus.publish(orderTopic('closed'), order(1))).rejects.toBeInstanceOf(ClosedError);
    },
  },
  {
    name: 'runs publish and consume middleware around every message',
    promise: 'bus middleware: publish middleware runs around the send and consume middleware before the handler, for every message',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const seen: string[] = [];
      const bus = await pool.open({
        middleware: [
          {
            publish: async (envelope, next) => {
              envelope.headers['x-mw'] = 'stamped';
              seen.push('publish:before');
              await next();
              seen.push('publish:after');
            },
            consume: async (message, _ctx, next) => {
              seen.push(`consume:${message.headers['x-mw']}`);
              await next();
            },
          },
        ],
      });
      const topic = orderTopic('middleware');
      const spy = handlerSpy<Order>();
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const id = await bus.publish(topic, order(1));
      const call = await spy.waitForMessageWithId(id, wait);
      expect(call.message.headers['x-mw']).toBe('stamped');
      // The consumer may run before publish() returns; only the publish steps' order is fixed.
      expect(seen[0]).toBe('publish:before');
      expect([...seen].sort()).toEqual(['consume:stamped', 'publish:after', 'publish:before']);
    },
  },
  {
    name: 'round-trips a 256 KiB body',
    promise: 'TransportCapabilities.maxMessageBytes: at least 256 KiB plus headroom, and a body that large round-trips',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
      const bus = await pool.open();
      const Blob = defineTopic(uniqueName('large'), z.object({ data: z.string() }));
      expect(bus.transport.capabilities.maxMessageBytes).toBeGreaterThanOrEqual(256 * 1024 + 4096);
      const spy = handlerSpy<{ data: string }>();
      await bus.subscribe(Blob, spy.handler, { group: 'g1' });
      const data = 'x'.repeat(256 * 1024);
      const id = await bus.publish(Blob, { data });
      const call = await spy.waitForMessageWithId(id, wait);
      expect(call.message.body.data.length).toBe(data.length);
    },
  },
];
