/**
 * Contract cases for failure handling: retries with the attempt counted and the backoff honoured,
 * no head-of-line blocking behind a delayed retry, and dead letters (after maxAttempts,
 * undecodable, invalid, non-retryable, explicit) with their documented headers.
 */
import { expect } from 'vitest';
import { DEAD_LETTER_GROUP, DeadLetterHeaders, NonRetryableError, deadLetterTopicOf, readDeadLetter, handlerSpy } from '@omnibus/core';
import { type ContractCase } from '../fixtures.js';
import { type Order, order, orderTopic, fastRetry, watchDeadLetters } from './support.js';

export const retryCases: readonly ContractCase[] = [
  {
    name: 'redelivers a failed message with the attempt counted',
    promise: 'a failed handler is retried (Delivery.nack: delivered again with attempt + 1) until it succeeds',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'honours the backoff delay between attempts',
    promise: 'subscribe retry.backoff: no attempt starts before its delay',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'does not hold fresh messages back behind a delayed retry',
    promise: 'a delayed retry (Delivery.nack({ delayMs })) never holds back later messages, even of the same key',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'dead-letters after maxAttempts with every documented header',
    promise: 'after maxAttempts a message goes to its dead-letter topic with every documented dead-letter header and its key, headers and body',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
      if (bus.transport.capabilities.redeliveryHeaders) expect(last - first).toBeGreaterThanOrEqual(150);
      expect(readDeadLetter(letter.message)).toMatchObject({ originalTopic: topic.name, group: 'billing', attempts: 3, reason: 'max-attempts', error: { name: 'TypeError', message: 'always broken' } });
      expect(letter.message.headers.traceparent).toBe('00-abc-def-01');
      expect(letter.message.key).toBe('k');
      expect(JSON.parse(new TextDecoder().decode(letter.message.body))).toEqual(order(1));
    },
  },
  {
    name: 'dead-letters an undecodable message at once without calling the handler',
    promise: 'a message core cannot decode is dead-lettered at once (reason undecodable) and never reaches the handler',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'dead-letters a schema-invalid message at once with the zod issues',
    promise: 'a message that fails the topic\'s schema is dead-lettered at once (reason invalid) with the zod issues',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'dead-letters a NonRetryableError after one attempt',
    promise: 'a NonRetryableError dead-letters after one attempt (reason non-retryable)',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'treats a retryable() predicate returning false as non-retryable',
    promise: 'subscribe retry.retryable(error) returning false makes the failure non-retryable',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'honours ctx.deadLetter(reason) and ctx.retry()',
    promise: 'ctx.deadLetter(reason) dead-letters at once (reason explicit); ctx.retry() retries',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
  {
    name: 'keeps dead letters while nobody reads the dead-letter topic',
    promise: 'dead letters are durable: kept while nobody reads the dead-letter topic',
    async run({ pool, timeoutMs }) {
      const wait = { timeoutMs };
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
    },
  },
];
