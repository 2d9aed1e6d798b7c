/**
 * Contract cases for input an attacker (or an unlucky user) chooses: thrown values that are
 * not Errors, failures too large to describe, names that look like a transport's internal
 * ones, dead letters of several groups, oversized batches, a drain racing a dead-letter
 * publish. Each case names the promise it checks; `features` says which capability gates it.
 */
import { expect } from 'vitest';
import { z } from 'zod';
import {
  DEAD_LETTER_GROUP,
  DeadLetterHeaders,
  Signal,
  deadLetterTopicOf,
  defineTopic,
  handlerSpy,
  isOmnibusError,
  rawTopic,
  type Bus,
  type Delivery,
  type HandlerSpy,
  type Logger,
  type Topic,
} from '@omnibus/core';
import { decorateTransport, gate, range, uniqueName, type ContractCase } from './fixtures.js';

/** Moved to fixtures.ts; re-exported for the files (and authors) that import them from here. */
export type { CaseContext, ContractCase } from './fixtures.js';

const Order = z.object({ orderId: z.string(), total: z.number() });
type Order = z.infer<typeof Order>;
const order = (i: number): Order => ({ orderId: `o-${i}`, total: i });
const orderTopic = (label: string): Topic<Order> => defineTopic(uniqueName(label), Order);
const once = (maxAttempts = 1) => ({ maxAttempts, backoff: { type: 'fixed' as const, delayMs: 50, jitter: false } });

interface LogLine {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

interface LoggerSpy extends Logger {
  readonly lines: readonly LogLine[];
  until(predicate: (line: LogLine) => boolean, count: number, timeoutMs: number): Promise<void>;
}

/** A logger that records every line, and lets a test wait for some. */
function loggerSpy(): LoggerSpy {
  const lines: LogLine[] = [];
  const signal = new Signal();
  const log = (level: string) => (fields: unknown, message?: string) => {
    lines.push({ level, fields: (typeof fields === 'object' && fields !== null ? fields : {}) as Record<string, unknown>, message: message ?? String(fields) });
    signal.notify();
  };
  const matching = (predicate: (line: LogLine) => boolean) => lines.filter(predicate).length;
  return {
    lines,
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    until: (predicate, count, timeoutMs) => signal.until(() => matching(predicate) >= count, timeoutMs, () => `${count} matching log lines (got ${matching(predicate)})`),
  };
}

async function watchDeadLetters(bus: Bus, topic: { readonly name: string } | string): Promise<HandlerSpy<Uint8Array>> {
  const spy = handlerSpy<Uint8Array>();
  await bus.subscribe(deadLetterTopicOf(typeof topic === 'string' ? topic : topic.name), spy.handler, { group: DEAD_LETTER_GROUP });
  return spy;
}

const utf8Bytes = (text: string | undefined) => Buffer.byteLength(text ?? '');

export const hardeningCases: readonly ContractCase[] = [
  {
    name: 'keeps the dead letter of every group that fails the same message',
    promise: 'nothing core publishes on its own (a dead letter) is swallowed by broker-side deduplication',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = orderTopic('dlq-groups');
      const dead = await watchDeadLetters(bus, topic);
      const fail = async () => {
        throw new Error('both groups fail');
      };
      const a = handlerSpy<Order>(fail);
      const b = handlerSpy<Order>(fail);
      await bus.subscribe(topic, a.handler, { group: 'ga', retry: once() });
      await bus.subscribe(topic, b.handler, { group: 'gb', retry: once() });
      const id = await bus.publish(topic, order(1));
      await dead.waitUntil(() => dead.calls.filter((c) => c.message.id === id).length >= 2, { timeoutMs, what: 'two dead letters, one per group' });
      const groups = dead.calls.filter((c) => c.message.id === id).map((c) => c.message.envelope[DeadLetterHeaders.group]);
      expect(groups.sort()).toEqual(['ga', 'gb']);
    },
  },
  {
    name: 'settles a delivery whatever value the handler throws',
    promise: 'any thrown value is a failure like any other; no path leaves a delivery unsettled',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = orderTopic('thrown');
      const dead = await watchDeadLetters(bus, topic);
      const hostile: (() => unknown)[] = [
        () => Object.create(null) as object,
        () => ({
          toString() {
            throw new Error('toString throws');
          },
        }),
        () => Object.assign(new Error('x'), { message: 42 }),
        () => Object.defineProperty(new Error('y'), 'name', { get: () => { throw new Error('name getter throws'); } }),
        () => Symbol('thrown symbol'),
        () => undefined,
        () => new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); }, get: () => { throw new Error('trap'); } }),
        () => Object.assign(new Error('z'), { name: 'N'.repeat(1_000_000) }),
      ];
      const spy = handlerSpy<Order>(async (msg) => {
        if (msg.body.total < hostile.length) throw (hostile[msg.body.total] as () => unknown)();
      });
      // Concurrency 1: a single wedged delivery would stop the subscription.
      await bus.subscribe(topic, spy.handler, { group: 'g1', retry: once() });
      const ids: string[] = [];
      for (const i of range(hostile.length)) ids.push(await bus.publish(topic, order(i)));
      const last = await bus.publish(topic, order(hostile.length));
      await spy.waitForMessageWithId(last, { timeoutMs, outcome: 'ack' });
      await dead.waitUntil(() => ids.every((id) => dead.calls.some((c) => c.message.id === id)), { timeoutMs, what: 'every hostile throw dead-lettered' });
      for (const call of dead.calls) expect(utf8Bytes(call.message.envelope[DeadLetterHeaders.errorName])).toBeLessThanOrEqual(128);
    },
  },
  {
    name: 'cuts the dead-letter headers of a huge failure of a near-limit message, and never runs the handler after its final attempt',
    promise: 'dead-letter headers are bounded; whatever Omnibus accepted can be dead-lettered',
    async run({ pool, timeoutMs }) {
      const maxMessageBytes = 64 * 1024;
      const bus = await pool.open({}, (t) => decorateTransport(t, { capabilities: { maxMessageBytes: Math.min(maxMessageBytes, t.capabilities.maxMessageBytes) } }));
      const Padded = defineTopic(uniqueName('near-limit'), z.object({ pad: z.string() }));
      const dead = await watchDeadLetters(bus, Padded);
      const huge = 'E'.repeat(1024 * 1024);
      const spy = handlerSpy<{ pad: string }>(async () => {
        const error = new Error(huge);
        error.name = huge;
        error.stack = huge;
        throw error;
      });
      await bus.subscribe(Padded, spy.handler, { group: 'g1', retry: once(2) });
      // The largest body core accepts: the limit less the dead-letter headroom and the envelope.
      let pad = maxMessageBytes - 4_096 - 1_024;
      let id: string | undefined;
      while (id === undefined) {
        try {
          id = await bus.publish(Padded, { pad: 'p'.repeat(pad) });
        } catch (error) {
          if (!isOmnibusError(error, 'MESSAGE_TOO_LARGE')) throw error;
          pad -= 256;
        }
      }
      const letter = await dead.waitForMessageWithId(id, { timeoutMs });
      const h = letter.message.envelope;
      expect(utf8Bytes(h[DeadLetterHeaders.errorName])).toBeLessThanOrEqual(128);
      expect(utf8Bytes(h[DeadLetterHeaders.errorMessage])).toBeLessThanOrEqual(1_024);
      expect(utf8Bytes(h[DeadLetterHeaders.errorStack])).toBeLessThanOrEqual(2_048);
      const marker = await bus.publish(Padded, { pad: 'marker' });
      await spy.waitForMessageWithId(marker, { timeoutMs });
      expect(spy.calls.filter((c) => c.message.id === id).map((c) => c.attempt)).toEqual([1, 2]);
    },
  },
  {
    name: 'keeps a message whose dead-letter copy does not fit, retries the dead-letter publish, and never re-runs its handler',
    promise: 'a message that cannot be dead-lettered is kept (never acked, never re-handled), retried with backoff and logged with a typed error',
    features: ['delayedRedelivery'],
    async run({ pool, timeoutMs }) {
      const maxMessageBytes = 64 * 1024;
      const logger = loggerSpy();
      const bus = await pool.open({ logger }, (t) => decorateTransport(t, { capabilities: { maxMessageBytes: Math.min(maxMessageBytes, t.capabilities.maxMessageBytes) } }));
      const topic = rawTopic(uniqueName('no-fit'));
      const spy = handlerSpy<Uint8Array>(async () => {
        throw new Error('fails once, then is never run again');
      });
      await bus.subscribe(topic, spy.handler, { group: 'g1', retry: once() });
      // A foreign (or legacy) message at the transport's limit: its dead-letter copy cannot fit.
      const body = new Uint8Array(maxMessageBytes - 200).fill(120);
      await bus.transport.publish([{ id: 'too-big-to-dead-letter', topic: topic.name, key: undefined, headers: {}, body }]);
      const failed = (line: { level: string; fields: Record<string, unknown> }) => line.level === 'error' && isOmnibusError(line.fields.err, 'DEAD_LETTER_FAILED');
      await logger.until(failed, 2, timeoutMs + 5_000);
      expect(spy.calls.filter((c) => c.message.id === 'too-big-to-dead-letter')).toHaveLength(1);
    },
  },
  {
    name: 'refuses an invalid ctx.retry delay with a ConfigError',
    promise: 'ctx.retry({ delayMs }) follows the same rule as publish delayMs, enforced once in core',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = orderTopic('retry-delay');
      const refused: unknown[] = [];
      const spy = handlerSpy<Order>(async (_msg, ctx) => {
        for (const delayMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
          try {
            ctx.retry({ delayMs });
          } catch (error) {
            refused.push(error);
          }
        }
      });
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const id = await bus.publish(topic, order(1));
      await spy.waitForMessageWithId(id, { timeoutMs, outcome: 'ack' });
      expect(refused).toHaveLength(3);
      for (const error of refused) expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'ctx.retry delayMs' });
    },
  },
  {
    name: 'rejects a batch holding an oversized message before sending any of it',
    promise: 'maxMessageBytes is enforced once, in core, before anything of the batch is sent',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const topic = rawTopic(uniqueName('oversized'));
      const spy = handlerSpy<Uint8Array>();
      await bus.subscribe(topic, spy.handler, { group: 'g1' });
      const small = new Uint8Array(16);
      const huge = new Uint8Array(bus.transport.capabilities.maxMessageBytes + 1);
      const attempt = bus.publishBatch(topic, [{ body: small, id: 'small-1' }, { body: huge, id: 'huge' }, { body: small, id: 'small-2' }]);
      await expect(attempt).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', index: 1 });
      await expect(attempt).rejects.toThrow(/message 1 of the batch .* bytes/);
      const marker = await bus.publish(topic, small, { id: 'marker' });
      await spy.waitForMessageWithId(marker, { timeoutMs });
      expect(spy.calls.map((c) => c.message.id)).toEqual(['marker']);
    },
  },
  {
    name: 'settles once when a drain times out during a dead-letter publish',
    promise: 'settle-once holds across every await: a message is never both dead-lettered and released',
    async run({ pool, timeoutMs }) {
      const held = gate();
      const reached = new Signal();
      let holding = false;
      const logger = loggerSpy();
      const topic = orderTopic('drain-vs-dlq');
      const deadLetterTopic = deadLetterTopicOf(topic).name;
      const settlements: string[] = [];
      // Count what the consumer does with each delivery, at the transport seam.
      const counted = (d: Delivery): Delivery => ({
        message: d.message,
        attempt: d.attempt,
        ack: () => (settlements.push('ack'), d.ack()),
        nack: (options) => (settlements.push('nack'), d.nack(options)),
      });
      const bus = await pool.open({ logger }, (t) =>
        decorateTransport(t, {
          subscribe: (params) => t.subscribe({ ...params, onDelivery: (d) => params.onDelivery(params.topic === topic.name ? counted(d) : d) }),
          publish: async (messages) => {
            if (messages.some((m) => m.topic === deadLetterTopic)) {
              holding = true;
              reached.notify();
              await held.promise;
            }
            return t.publish(messages);
          },
        }),
      );
      const spy = handlerSpy<Order>(async () => {
        throw new Error('to the dead-letter topic');
      });
      const sub = await bus.subscribe(topic, spy.handler, { group: 'g1', retry: once() });
      const id = await bus.publish(topic, order(1));
      await reached.until(() => holding, timeoutMs, () => 'the dead-letter publish');
      const closing = sub.close({ timeoutMs: 100 });
      await logger.until((line) => line.level === 'warn' && /drain timeout/.test(line.message), 1, timeoutMs);
      held.open();
      await closing;
      const dead = await watchDeadLetters(await pool.open(), topic);
      await dead.waitForMessageWithId(id, { timeoutMs });
      // Released after dead-lettering, it would come back to the group; a marker shows it did not.
      const again = handlerSpy<Order>();
      const reader = await pool.open();
      await reader.subscribe(topic, again.handler, { group: 'g1' });
      const marker = await reader.publish(topic, order(2));
      await again.waitForMessageWithId(marker, { timeoutMs });
      expect(again.calls.map((c) => c.message.id)).not.toContain(id);
      expect(settlements).toEqual(['ack']);
    },
  },
  {
    name: 'keeps apart topics and groups whose names look like internal ones',
    promise: 'no user topic or group name collides with an internal name on any transport',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const caps = bus.transport.capabilities;
      const base = uniqueName('look');
      // Suffixes our transports used (or use) for internal objects, and group look-alikes.
      const names = [base, `${base}.delay`, `${base}.delayed`, `${base}.retry`, `${base}.g.retry`, `${base}.g`, `${base}-g`, `${base}.scheduled`, `${base}.g.delay`, `${base}.router`];
      const spies = new Map<string, HandlerSpy<Order>>();
      for (const name of names) {
        let failedOnce = false;
        const spy = handlerSpy<Order>(async (msg) => {
          // The first message of each topic fails once, so every topic has a retry in flight.
          if (msg.body.orderId === 'retry' && !failedOnce) {
            failedOnce = true;
            throw new Error('retry me');
          }
        });
        spies.set(name, spy);
        await bus.subscribe(defineTopic(name, Order), spy.handler, { group: 'g', retry: once(3) });
      }
      const expected = new Map<string, string[]>();
      for (const name of names) {
        const topic = defineTopic(name, Order);
        const ids = [await bus.publish(topic, { orderId: 'retry', total: 0 }), await bus.publish(topic, order(1))];
        if (caps.delayedPublish !== 'none') ids.push(await bus.publish(topic, order(2), { delayMs: 300 }));
        expected.set(name, ids);
      }
      for (const name of names) {
        const spy = spies.get(name) as HandlerSpy<Order>;
        const ids = expected.get(name) as string[];
        await spy.waitUntil(() => ids.every((id) => spy.calls.some((c) => c.message.id === id && c.outcome === 'ack')), { timeoutMs: timeoutMs + 2_000, what: `every message of ${name}` });
      }
      for (const name of names) {
        const spy = spies.get(name) as HandlerSpy<Order>;
        const own = new Set(expected.get(name));
        expect(spy.calls.filter((c) => !own.has(c.message.id)).map((c) => c.message.topic)).toEqual([]);
        for (const call of spy.calls) expect(call.message.topic).toBe(name);
      }
    },
  },
  {
    name: 'isolates, or refuses with a ConfigError, two topic names a broker may fold together',
    promise: 'names the broker treats as one are a ConfigError, never a connection error or a leak',
    async run({ pool, timeoutMs }) {
      const bus = await pool.open();
      const base = uniqueName('fold');
      const dotted = defineTopic(`${base}.q`, Order);
      const underscored = defineTopic(`${base}_q`, Order);
      const a = handlerSpy<Order>();
      await bus.subscribe(dotted, a.handler, { group: 'g' });
      const first = await bus.publish(dotted, order(1));
      await a.waitForMessageWithId(first, { timeoutMs });
      const b = handlerSpy<Order>();
      let refused: unknown;
      try {
        await bus.subscribe(underscored, b.handler, { group: 'g' });
      } catch (error) {
        refused = error;
      }
      if (refused !== undefined) {
        expect(refused).toMatchObject({ code: 'CONFIG_INVALID' });
        await expect(bus.publish(underscored, order(2))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
        return;
      }
      const second = await bus.publish(underscored, order(2));
      await b.waitForMessageWithId(second, { timeoutMs });
      const third = await bus.publish(dotted, order(3));
      await a.waitForMessageWithId(third, { timeoutMs });
      expect(a.calls.map((c) => c.message.id)).not.toContain(second);
      expect(b.calls.map((c) => c.message.id)).not.toContain(third);
    },
  },
];

