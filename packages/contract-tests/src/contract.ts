import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ClosedError,
  DEAD_LETTER_GROUP,
  DeadLetterHeaders,
  Headers,
  NonRetryableError,
  Signal,
  ValidationError,
  deadLetterTopicOf,
  readDeadLetter,
  defineTopic,
  handlerSpy,
  type Bus,
  type Delivery,
  type HandlerSpy,
  type Topic,
  type TransportCapabilities,
} from '@omnibus/core';
import { BusPool, gate, range, uniqueName, type MakeTransport } from './fixtures.js';
import { hardeningCases } from './hardening.js';
import { inspectionCases } from './inspection.js';
import { operationCases } from './operations.js';
import { boundedCases } from './bounded.js';
import { patternCases } from './patterns.js';
import { transportCases } from './transport-cases.js';

export interface ContractOptions {
  /** Upper bound for each wait on a message, in ms (default 20 s). Slow brokers may raise it. */
  readonly waitTimeoutMs?: number;
  /** Messages in the volume test (default 1,000). */
  readonly volume?: number;
}

const Order = z.object({ orderId: z.string(), total: z.number() });
type Order = z.infer<typeof Order>;

const order = (i: number): Order => ({ orderId: `o-${i}`, total: i });
const orderTopic = (label: string): Topic<Order> => defineTopic(uniqueName(label), Order);

/** Retry settings short enough for tests, long enough to measure. */
const fastRetry = (maxAttempts: number, delayMs = 50) => ({ maxAttempts, backoff: { type: 'fixed' as const, delayMs, jitter: false } });

/**
 * The transport conformance suite. Every transport (ours or a third party's) calls
 * it with a factory; each test creates its own transports, topics and groups, and
 * skips only what the transport's capabilities say it lacks.
 */
/** Wait until `condition` holds, re-checked whenever any of the spies' handlers start or finish. */
function waitAll<T>(spies: readonly HandlerSpy<T>[], condition: () => boolean, timeoutMs: number): Promise<void> {
  return Promise.race(spies.map((spy) => spy.waitUntil(condition, { timeoutMs })));
}

/** A count that tests can await. */
function counter(): { add: () => void; reach: (n: number, timeoutMs: number) => Promise<void> } {
  const signal = new Signal();
  let count = 0;
  return {
    add: () => {
      count += 1;
      signal.notify();
    },
    reach: (n, timeoutMs) => signal.until(() => count >= n, timeoutMs, () => `${n} settlements (got ${count})`),
  };
}

export function describeTransportContract(name: string, makeTransport: MakeTransport, options: ContractOptions = {}): void {
  const timeoutMs = options.waitTimeoutMs ?? 20_000;
  const volume = options.volume ?? 1_000;
  const wait = { timeoutMs };

  describe(`transport contract: ${name}`, () => {
    let pool: BusPool;
    beforeEach(() => {
      pool = new BusPool(makeTransport);
    });
    afterEach(async () => {
      await pool.closeAll();
    });

    const capabilities = async (bus: Bus): Promise<TransportCapabilities> => bus.transport.capabilities;

    /** Subscribe a spy to the dead-letter topic of `topic` (before anything is dead-lettered). */
    const watchDeadLetters = async (bus: Bus, topic: Topic<unknown>): Promise<HandlerSpy<Uint8Array>> => {
      const spy = handlerSpy<Uint8Array>();
      await bus.subscribe(deadLetterTopicOf(topic), spy.handler, { group: DEAD_LETTER_GROUP });
      return spy;
    };

    describe('publish and receive', () => {
      it('round-trips body, key, headers, id and envelope', async () => {
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
      });

      it('keeps an absent key absent and honours a caller-chosen id', async () => {
        const bus = await pool.open();
        const topic = orderTopic('nokey');
        const spy = handlerSpy<Order>();
        await bus.subscribe(topic, spy.handler, { group: 'g1' });
        const id = await bus.publish(topic, order(2), { id: 'my-id-42' });
        expect(id).toBe('my-id-42');
        const call = await spy.waitForMessageWithId('my-id-42', wait);
        expect(call.message.key).toBeUndefined();
        expect(call.message.headers).toEqual({});
      });

      it('publishes a batch and returns one id per message', async () => {
        const bus = await pool.open();
        const topic = orderTopic('batch');
        const spy = handlerSpy<Order>();
        await bus.subscribe(topic, spy.handler, { group: 'g1', concurrency: 4 });
        const ids = await bus.publishBatch(topic, range(50).map((i) => ({ body: order(i), key: `k${i % 5}` })));
        expect(new Set(ids).size).toBe(50);
        const calls = await spy.waitForCount(50, wait);
        expect(new Set(calls.map((c) => c.message.id))).toEqual(new Set(ids));
      });

      it(`delivers ${volume} messages with none lost`, async () => {
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
      });

      it('handles concurrent publishers and subscribers in one group', async () => {
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
      });

      it('keeps topics isolated', async () => {
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
      });

      it('fans out to every group', async () => {
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
      });

      it('splits a group between competing consumers (each message to one of them)', async () => {
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
      });

      it('rejects an invalid body before sending anything', async () => {
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
      });

      it('rejects use after close with a ClosedError', async () => {
        const bus = await pool.open();
        await bus.close();
        await expect(bus.publish(orderTopic('closed'), order(1))).rejects.toBeInstanceOf(ClosedError);
      });

      it('runs publish and consume middleware around every message', async () => {
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
      });

      it('round-trips a 256 KiB body', async () => {
        const bus = await pool.open();
        const Blob = defineTopic(uniqueName('large'), z.object({ data: z.string() }));
        expect((await capabilities(bus)).maxMessageBytes).toBeGreaterThanOrEqual(256 * 1024 + 4096);
        const spy = handlerSpy<{ data: string }>();
        await bus.subscribe(Blob, spy.handler, { group: 'g1' });
        const data = 'x'.repeat(256 * 1024);
        const id = await bus.publish(Blob, { data });
        const call = await spy.waitForMessageWithId(id, wait);
        expect(call.message.body.data.length).toBe(data.length);
      });
    });

    describe('groups and durability', () => {
      it('keeps messages for a group while its consumers are down', async () => {
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
      });

      it('ensureGroup keeps messages published before the first consumer', async () => {
        const topic = orderTopic('ensure');
        const bus = await pool.open();
        await bus.ensureGroup(topic, 'late');
        const ids = await bus.publishBatch(topic, range(10).map((i) => ({ body: order(i) })));
        const spy = handlerSpy<Order>();
        await (await pool.open()).subscribe(topic, spy.handler, { group: 'late' });
        await spy.waitUntil(() => new Set(spy.calls.map((c) => c.message.id)).size >= 10, wait);
        expect(new Set(spy.calls.map((c) => c.message.id))).toEqual(new Set(ids));
      });

      it('never runs more handlers at once than the concurrency', async () => {
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
      });

      it('delivers in publish order per key', async (ctx) => {
        const bus = await pool.open();
        if (!(await capabilities(bus)).orderingByKey) return ctx.skip('transport does not declare orderingByKey');
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
      });
    });

    describe('retries and dead letters', () => {
      it('redelivers a failed message with the attempt counted', async () => {
        const bus = await pool.open();
        const topic = orderTopic('retry-once');
        const spy = handlerSpy<Order>(async (msg) => {
          if (msg.attempt === 1) throw new Error('transient');
        });
        await bus.subscribe(topic, spy.handler, { group: 'g1', retry: fastRetry(3) });
        const id = await bus.publish(topic, order(1));
        const ok = await spy.waitForMessageWithId(id, { ...wait, outcome: 'ack' });
        expect(ok.attempt).toBe(2);
        expect(spy.calls.filter((c) => c.message.id === id).map((c) => c.outcome)).toEqual(['error', 'ack']);
      });

      it('honours the backoff delay between attempts', async () => {
        const bus = await pool.open();
        const topic = orderTopic('backoff');
        const startedAt: number[] = [];
        const spy = handlerSpy<Order>(async (msg) => {
          startedAt[msg.attempt - 1] = Date.now();
          if (msg.attempt < 3) throw new Error('again');
        });
        await bus.subscribe(topic, spy.handler, {
          group: 'g1',
          retry: { maxAttempts: 3, backoff: { type: 'exponential', initialDelayMs: 400, factor: 2, maxDelayMs: 800, jitter: false } },
        });
        const id = await bus.publish(topic, order(1));
        await spy.waitForMessageWithId(id, { ...wait, outcome: 'ack' });
        const [first, second, third] = startedAt as [number, number, number];
        // Never early (a little tolerance for timer rounding), and not absurdly late.
        expect(second - first).toBeGreaterThanOrEqual(400 - 50);
        expect(third - second).toBeGreaterThanOrEqual(800 - 50);
        expect(third - first).toBeLessThan(1_200 + 10_000);
      });

      it('does not hold fresh messages back behind a delayed retry', async () => {
        const bus = await pool.open();
        const topic = orderTopic('no-hol');
        const spy = handlerSpy<Order>(async (msg, ctx) => {
          if (msg.body.orderId === 'o-1' && msg.attempt === 1) ctx.retry({ delayMs: 4_000 });
        });
        await bus.subscribe(topic, spy.handler, { group: 'g1', retry: fastRetry(3) });
        const slow = await bus.publish(topic, order(1), { key: 'same' });
        await spy.waitForMessageWithId(slow, wait);
        const fresh = await bus.publish(topic, order(2), { key: 'same' });
        await spy.waitForMessageWithId(fresh, wait);
        expect(spy.calls.filter((c) => c.message.id === slow)).toHaveLength(1);
        const retried = await spy.waitFor((c) => c.message.id === slow && c.attempt === 2, { timeoutMs: timeoutMs + 4_000 });
        expect(retried.outcome).toBe('ack');
      });

      it('dead-letters after maxAttempts with every documented header', async () => {
        const bus = await pool.open();
        const topic = orderTopic('poison');
        const dead = await watchDeadLetters(bus, topic);
        const spy = handlerSpy<Order>(async () => {
          throw new TypeError('always broken');
        });
        await bus.subscribe(topic, spy.handler, { group: 'billing', retry: fastRetry(3, 100) });
        const id = await bus.publish(topic, order(1), { key: 'k', headers: { traceparent: '00-abc-def-01' } });
        const letter = await dead.waitForMessageWithId(id, wait);
        expect(spy.calls.filter((c) => c.message.id === id).map((c) => c.attempt)).toEqual([1, 2, 3]);
        const h = letter.message.envelope;
        expect(h[DeadLetterHeaders.topic]).toBe(topic.name);
        expect(h[DeadLetterHeaders.group]).toBe('billing');
        expect(h[DeadLetterHeaders.attempts]).toBe('3');
        expect(h[DeadLetterHeaders.reason]).toBe('max-attempts');
        expect(h[DeadLetterHeaders.errorName]).toBe('TypeError');
        expect(h[DeadLetterHeaders.errorMessage]).toBe('always broken');
        expect(h[DeadLetterHeaders.errorStack]).toContain('always broken');
        const first = Date.parse(h[DeadLetterHeaders.firstFailureAt] ?? '');
        const last = Date.parse(h[DeadLetterHeaders.lastFailureAt] ?? '');
        expect(Number.isNaN(first) || Number.isNaN(last)).toBe(false);
        expect(first).toBeLessThanOrEqual(last);
        if ((await capabilities(bus)).redeliveryHeaders) expect(last - first).toBeGreaterThanOrEqual(150);
        expect(readDeadLetter(letter.message)).toMatchObject({ originalTopic: topic.name, group: 'billing', attempts: 3, reason: 'max-attempts', error: { name: 'TypeError', message: 'always broken' } });
        expect(letter.message.headers.traceparent).toBe('00-abc-def-01');
        expect(letter.message.key).toBe('k');
        expect(JSON.parse(new TextDecoder().decode(letter.message.body))).toEqual(order(1));
      });

      it('dead-letters an undecodable message at once without calling the handler', async () => {
        const bus = await pool.open();
        const topic = orderTopic('undecodable');
        const dead = await watchDeadLetters(bus, topic);
        const spy = handlerSpy<Order>();
        await bus.subscribe(topic, spy.handler, { group: 'g1', retry: fastRetry(5) });
        await bus.transport.publish([{ id: 'garbage-1', topic: topic.name, key: undefined, headers: {}, body: new TextEncoder().encode('{not json') }]);
        const marker = await bus.publish(topic, order(2));
        const letter = await dead.waitForMessageWithId('garbage-1', wait);
        await spy.waitForMessageWithId(marker, wait);
        expect(letter.message.envelope[DeadLetterHeaders.reason]).toBe('undecodable');
        expect(letter.message.envelope[DeadLetterHeaders.attempts]).toBe('1');
        expect(letter.message.envelope[DeadLetterHeaders.errorName]).toBe('DecodeError');
        expect(new TextDecoder().decode(letter.message.body)).toBe('{not json');
        expect(spy.calls.map((c) => c.message.id)).toEqual([marker]);
      });

      it('dead-letters a schema-invalid message at once with the zod issues', async () => {
        const bus = await pool.open();
        const topic = orderTopic('schema-invalid');
        const dead = await watchDeadLetters(bus, topic);
        const spy = handlerSpy<Order>();
        await bus.subscribe(topic, spy.handler, { group: 'g1', retry: fastRetry(5) });
        const body = new TextEncoder().encode(JSON.stringify({ orderId: 'o-1', total: 'not a number' }));
        await bus.transport.publish([{ id: 'invalid-1', topic: topic.name, key: undefined, headers: {}, body }]);
        const letter = await dead.waitForMessageWithId('invalid-1', wait);
        expect(letter.message.envelope[DeadLetterHeaders.reason]).toBe('invalid');
        expect(letter.message.envelope[DeadLetterHeaders.errorName]).toBe('ValidationError');
        expect(letter.message.envelope[DeadLetterHeaders.errorMessage]).toContain('total');
        expect(spy.calls).toHaveLength(0);
      });

      it('dead-letters a NonRetryableError after one attempt', async () => {
        const bus = await pool.open();
        const topic = orderTopic('non-retryable');
        const dead = await watchDeadLetters(bus, topic);
        const spy = handlerSpy<Order>(async () => {
          throw new NonRetryableError('customer does not exist');
        });
        await bus.subscribe(topic, spy.handler, { group: 'g1', retry: fastRetry(5) });
        const id = await bus.publish(topic, order(1));
        const letter = await dead.waitForMessageWithId(id, wait);
        expect(letter.message.envelope[DeadLetterHeaders.reason]).toBe('non-retryable');
        expect(letter.message.envelope[DeadLetterHeaders.attempts]).toBe('1');
        expect(spy.calls).toHaveLength(1);
      });

      it('treats a retryable() predicate returning false as non-retryable', async () => {
        const bus = await pool.open();
        const topic = orderTopic('predicate');
        const dead = await watchDeadLetters(bus, topic);
        const spy = handlerSpy<Order>(async () => {
          throw new RangeError('out of range');
        });
        await bus.subscribe(topic, spy.handler, {
          group: 'g1',
          retry: { ...fastRetry(5), retryable: (error) => !(error instanceof RangeError) },
        });
        const id = await bus.publish(topic, order(1));
        const letter = await dead.waitForMessageWithId(id, wait);
        expect(letter.message.envelope[DeadLetterHeaders.errorName]).toBe('RangeError');
        expect(spy.calls).toHaveLength(1);
      });

      it('honours ctx.deadLetter(reason) and ctx.retry()', async () => {
        const bus = await pool.open();
        const topic = orderTopic('explicit');
        const dead = await watchDeadLetters(bus, topic);
        const spy = handlerSpy<Order>(async (msg, ctx) => {
          if (msg.body.orderId === 'o-1') ctx.deadLetter('fraud suspected');
          else if (msg.attempt === 1) ctx.retry({ delayMs: 100 });
        });
        await bus.subscribe(topic, spy.handler, { group: 'g1', retry: fastRetry(5) });
        const doomed = await bus.publish(topic, order(1));
        const retried = await bus.publish(topic, order(2));
        const letter = await dead.waitForMessageWithId(doomed, wait);
        expect(letter.message.envelope[DeadLetterHeaders.reason]).toBe('explicit');
        expect(letter.message.envelope[DeadLetterHeaders.errorMessage]).toBe('fraud suspected');
        const second = await spy.waitFor((c) => c.message.id === retried && c.attempt === 2, wait);
        expect(second.outcome).toBe('ack');
      });

      it('keeps dead letters while nobody reads the dead-letter topic', async () => {
        const bus = await pool.open();
        const topic = orderTopic('dlq-kept');
        const spy = handlerSpy<Order>(async () => {
          throw new NonRetryableError('no');
        });
        await bus.subscribe(topic, spy.handler, { group: 'g1' });
        const id = await bus.publish(topic, order(1));
        await spy.waitForMessageWithId(id, { ...wait, outcome: 'error' });
        const dead = handlerSpy<Uint8Array>();
        await (await pool.open()).subscribe(deadLetterTopicOf(topic), dead.handler, { group: DEAD_LETTER_GROUP });
        const letter = await dead.waitForMessageWithId(id, wait);
        expect(letter.message.envelope[DeadLetterHeaders.reason]).toBe('non-retryable');
      });
    });

    describe('transport primitives', () => {
      const rawSubscribe = async (bus: Bus, topic: string, group: string, onDelivery: (d: Delivery) => void) =>
        bus.transport.subscribe({ topic, group, concurrency: 4, onDelivery, onError: () => {} });

      it('makes ack idempotent and exclusive with nack', async () => {
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
      });

      it('redelivers a nacked delivery with attempt + 1', async () => {
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
      });
    });

    describe('delayed publish', () => {
      it('delivers a delayed message no earlier than asked, without blocking others', async (ctx) => {
        const bus = await pool.open();
        if ((await capabilities(bus)).delayedPublish === 'none') return ctx.skip('transport declares no delayed publish');
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
      });

      it('rejects a negative delay with a ConfigError', async () => {
        const bus = await pool.open();
        await expect(bus.publish(orderTopic('neg-delay'), order(1), { delayMs: -5 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'delayMs' });
      });
    });

    describe('graceful close', () => {
      it('lets in-flight handlers finish and acks them, processing none twice', async () => {
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
      });

      it('releases handlers that outlive the drain timeout for redelivery', async () => {
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
      });
    });

    const table = { hardening: hardeningCases, inspection: inspectionCases, operations: operationCases, bounded: boundedCases, patterns: patternCases, transport: transportCases };
    for (const [section, cases] of Object.entries(table)) describe(section, () => {
      for (const contractCase of cases) {
        it(contractCase.name, async (ctx) => {
          const requires = contractCase.requires;
          if (requires) {
            const probe = await pool.open();
            if (!requires.check(probe.transport)) return ctx.skip(requires.reason);
          }
          await contractCase.run({ pool, timeoutMs });
        });
      }
    });
  });
}
