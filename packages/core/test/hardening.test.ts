import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  Bus,
  ConfigError,
  createMemoryTransport,
  cutBytes,
  defineTopic,
  describeThrown,
  handlerSpy,
  jsonCodec,
  MAX_DEFINED_TOPIC_NAME_LENGTH,
  MAX_DELAY_MS,
  parseOptions,
  RetryPolicySchema,
  rawTopic,
  silentLogger,
  type OutgoingMessage,
  type Transport,
} from '../src/index.js';
import { PublishWindow } from '../src/publish-window.js';

const memory = (): Transport => createMemoryTransport({ url: 'memory://', options: {}, logger: silentLogger });

function busOn(transport: Transport, maxPublishesInFlight?: number): Bus {
  return new Bus({ transport, codec: jsonCodec, logger: silentLogger, source: 'test', middleware: [], drainTimeoutMs: 1_000, maxPublishesInFlight });
}

describe('describing thrown values', () => {
  it('never throws, whatever was thrown', () => {
    const hostile: unknown[] = [
      Object.create(null),
      { toString: () => { throw new Error('no'); } },
      Object.assign(new Error('x'), { message: 42 }),
      new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); } }),
      Symbol('s'),
      undefined,
      null,
    ];
    for (const value of hostile) {
      const description = describeThrown(value);
      expect(typeof description.name).toBe('string');
      expect(typeof description.message).toBe('string');
    }
    expect(describeThrown(Object.assign(new Error('x'), { message: 42 })).message).toBe('42');
  });

  it('cuts to a byte budget without splitting a character', () => {
    const cut = cutBytes('✓'.repeat(1_000), 128);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(128);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
    expect(describeThrown(Object.assign(new Error('m'), { name: 'N'.repeat(10_000) })).name.length).toBeLessThanOrEqual(128);
  });
});

describe('delays', () => {
  it('follow one rule everywhere: finite, from 0 to 24 days', async () => {
    const bus = busOn(memory());
    const topic = rawTopic('t-delays');
    for (const delayMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, MAX_DELAY_MS + 1]) {
      await expect(bus.publish(topic, new Uint8Array(1), { delayMs })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'delayMs' });
    }
    expect(() => parseOptions(RetryPolicySchema, { backoff: { type: 'fixed', delayMs: MAX_DELAY_MS + 1 } }, 'retry')).toThrow(expect.objectContaining({ field: 'retry.backoff.delayMs' }) as unknown as Error);
    await bus.close();
  });
});

describe('topic names', () => {
  it('leaves room for the dead-letter suffixes at defineTopic', () => {
    const longest = 'a'.repeat(MAX_DEFINED_TOPIC_NAME_LENGTH);
    expect(defineTopic(longest, z.object({})).name).toBe(longest);
    expect(() => defineTopic(`${longest}b`, z.object({}))).toThrow(ConfigError);
    expect(() => defineTopic(`${longest}b`, z.object({}))).toThrow(/dead-letter/);
  });

  it('refuses at subscribe a topic whose default dead-letter topic would be too long', async () => {
    const bus = busOn(memory());
    const raw = rawTopic('r'.repeat(198));
    await expect(bus.subscribe(raw, () => {}, { group: 'g' })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'deadLetter.topic' });
    const sub = await bus.subscribe(raw, () => {}, { group: 'g', deadLetter: { topic: 'short.dlq' } });
    await sub.close();
    await bus.close();
  });
});

describe('publish types', () => {
  it('takes the schema input and hands handlers its output', async () => {
    const topic = defineTopic(
      't-types',
      z.object({ count: z.string().transform((s) => Number(s)), tag: z.string().default('none') }),
    );
    const bus = busOn(memory());
    const spy = handlerSpy<{ count: number; tag: string }>();
    await bus.subscribe(topic, spy.handler, { group: 'g' });
    // `tag` may be left out and `count` is a string on the way in: the schema's input.
    const id = await bus.publish(topic, { count: '7' });
    const call = await spy.waitForMessageWithId(id, { timeoutMs: 2_000 });
    expect(call.message.body).toEqual({ count: 7, tag: 'none' });
    expectTypeOf(bus.publish<{ count: string; tag?: string | undefined }>).toBeCallableWith(topic, { count: '1' });
    await bus.close();
  });
});

describe('publish window', () => {
  it('bounds the messages in flight to the transport across publish calls', async () => {
    const inner = memory();
    let inFlight = 0;
    let peak = 0;
    const transport: Transport = {
      name: inner.name,
      capabilities: inner.capabilities,
      connect: () => inner.connect(),
      ensureGroup: (t, g) => inner.ensureGroup(t, g),
      subscribe: (p) => inner.subscribe(p),
      close: () => inner.close(),
      publish: async (messages: readonly OutgoingMessage[]) => {
        inFlight += messages.length;
        peak = Math.max(peak, inFlight);
        try {
          await new Promise<void>((resolve) => setImmediate(resolve));
          await inner.publish(messages);
        } finally {
          inFlight -= messages.length;
        }
      },
    };
    const bus = busOn(transport, 16);
    await bus.transport.connect();
    const topic = rawTopic('t-window');
    const body = new Uint8Array(8);
    const ids = await Promise.all(Array.from({ length: 2_000 }, () => bus.publish(topic, body)));
    expect(new Set(ids).size).toBe(2_000);
    expect(peak).toBeLessThanOrEqual(16);
    expect(peak).toBeGreaterThan(1);
    // A batch larger than the window is sent whole, alone.
    await bus.publishBatch(topic, Array.from({ length: 40 }, () => ({ body })));
    expect(peak).toBeLessThanOrEqual(40);
    await bus.close();
  });

  it('wakes waiters in call order', () => {
    const window = new PublishWindow(2);
    const order: number[] = [];
    expect(window.tryAcquire(2)).toBe(true);
    expect(window.tryAcquire(1)).toBe(false);
    window.enqueue(1, () => order.push(1));
    window.enqueue(1, () => order.push(2));
    window.release(1);
    // Room for one: the first waiter gets it; a later caller never overtakes a waiting one.
    expect(order).toEqual([1]);
    expect(window.tryAcquire(1)).toBe(false);
    window.release(2);
    expect(order).toEqual([1, 2]);
  });
});
