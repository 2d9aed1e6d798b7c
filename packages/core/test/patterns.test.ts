import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  MAX_DELAY_MS,
  MemoryIdempotencyStore,
  Signal,
  UnsupportedError,
  createBus,
  createMemoryTransport,
  defineTopic,
  handlerSpy,
  memoryCapabilities,
  type IdempotencyStore,
  type Transport,
} from '../src/index.js';

const Job = z.object({ n: z.number() });

/** memory:// with the capabilities of a transport that has no bounded topics (Kafka). */
function unbounded(): Transport {
  const inner = createMemoryTransport();
  return new Proxy(inner, { get: (target, p) => (p === 'capabilities' ? { ...memoryCapabilities, boundedTopics: undefined } : Reflect.get(target, p, target)) });
}

describe('bounded topics in core', () => {
  it('refuses an invalid bound where the topic is defined, naming the field', () => {
    expect(() => defineTopic('t', Job, { bound: { overflow: 'reject' } })).toThrow(ConfigError);
    expect(() => defineTopic('t', Job, { bound: { maxMessages: 0, overflow: 'reject' } })).toThrow(/bound\.maxMessages/);
    expect(() => defineTopic('t', Job, { bound: { maxMessages: 5, overflow: 'drop-newest' as 'reject' } })).toThrow(/bound\.overflow/);
  });

  it('refuses a bounded topic on a transport without the capability before anything is sent', async () => {
    await using bus = await createBus({ transport: unbounded() });
    const topic = defineTopic('sale', Job, { bound: { maxMessages: 5, overflow: 'reject' } });
    await expect(bus.publish(topic, { n: 1 })).rejects.toBeInstanceOf(UnsupportedError);
    await expect(bus.subscribe(topic, () => {}, { group: 'g' })).rejects.toBeInstanceOf(UnsupportedError);
    await expect(bus.inspect('sale', 'g')).resolves.toMatchObject({ groups: [expect.objectContaining({ waiting: { value: 0, exact: true } })] });
  });

  it('refuses one topic name used with two bounds on one bus', async () => {
    await using bus = await createBus();
    await bus.publish(defineTopic('twice', Job, { bound: { maxMessages: 5, overflow: 'reject' } }), { n: 1 });
    await expect(bus.publish(defineTopic('twice', Job, { bound: { maxMessages: 6, overflow: 'reject' } }), { n: 1 })).rejects.toMatchObject({ field: 'bound' });
    await expect(bus.publish(defineTopic('twice', Job), { n: 1 })).rejects.toMatchObject({ field: 'bound' });
  });

  it('refuses for every group at once on memory:// (nothing stored when one group is full)', async () => {
    await using bus = await createBus();
    const topic = defineTopic('two-groups', Job, { bound: { maxMessages: 2, overflow: 'reject' } });
    await bus.ensureGroup(topic, 'fast');
    await bus.ensureGroup(topic, 'slow');
    const fast = handlerSpy<{ n: number }>();
    await bus.subscribe(topic, fast.handler, { group: 'fast' });
    await bus.publish(topic, { n: 1 });
    await bus.publish(topic, { n: 2 });
    await fast.waitForCount(2);
    await expect(bus.publish(topic, { n: 3 })).rejects.toMatchObject({ code: 'QUEUE_FULL', topic: 'two-groups' });
    const inspection = await bus.inspect(topic);
    expect(inspection.groups.find((g) => g.group === 'slow')?.waiting?.value).toBe(2);
    expect(fast.calls.map((c) => c.message.body.n)).toEqual([1, 2]);
  });
});

describe('deliverAt', () => {
  it('refuses a time past 24 days, an invalid Date, and deliverAt with delayMs, naming the field', async () => {
    await using bus = await createBus();
    const topic = defineTopic('scheduled', Job);
    await expect(bus.publish(topic, { n: 1 }, { deliverAt: new Date(Date.now() + MAX_DELAY_MS + 60_000) })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'deliverAt' });
    await expect(bus.publish(topic, { n: 1 }, { deliverAt: new Date('nope') })).rejects.toMatchObject({ field: 'deliverAt' });
    await expect(bus.publish(topic, { n: 1 }, { deliverAt: new Date(), delayMs: 5 })).rejects.toMatchObject({ field: 'deliverAt' });
  });
});

describe('rate limit options', () => {
  it('names the bad field', async () => {
    await using bus = await createBus();
    await expect(bus.subscribe(defineTopic('r', Job), () => {}, { group: 'g', rateLimit: { messages: 0, perMs: 10 } })).rejects.toMatchObject({ field: 'subscribe options.rateLimit.messages' });
    await expect(bus.subscribe(defineTopic('r', Job), () => {}, { group: 'g', rateLimit: { messages: 1, perMs: 10, burst: 3 } as never })).rejects.toMatchObject({ field: 'subscribe options.rateLimit.burst' });
  });
});

describe('idempotent subscriptions', () => {
  it('runs each message once under injected duplicates (memory:// duplicates=0.3), with the key in ctx', async () => {
    await using bus = await createBus('memory://?seed=11&duplicates=0.3');
    const topic = defineTopic('payments', Job);
    const store = new MemoryIdempotencyStore();
    const charged = new Map<number, number>();
    const keys = new Set<string | undefined>();
    const deliveries = new Signal();
    let delivered = 0;
    const spy = handlerSpy<{ n: number }>((message, ctx) => {
      charged.set(message.body.n, (charged.get(message.body.n) ?? 0) + 1);
      keys.add(ctx.idempotencyKey);
    });
    let skipped = 0;
    await bus.subscribe(topic, spy.handler, { group: 'billing', concurrency: 8, idempotency: { store, onDuplicate: () => (skipped += 1) } });
    await bus.ensureGroup(topic, 'counter');
    await bus.subscribe(topic, () => { delivered += 1; deliveries.notify(); }, { group: 'counter' });
    const ids = await bus.publishBatch(topic, Array.from({ length: 200 }, (_, n) => ({ body: { n } })));
    await spy.waitForCount(200);
    // The other group sees the duplicates the broker stored: there were some to skip.
    await deliveries.until(() => delivered > 200, 5_000, () => 'duplicates delivered');
    const marker = await bus.publish(topic, { n: 999 });
    await spy.waitForMessageWithId(marker);
    expect([...charged.entries()].filter(([, count]) => count !== 1)).toEqual([]);
    expect(skipped).toBeGreaterThan(0);
    expect(keys.has(`billing:${ids[0]}`)).toBe(true);
  });

  it('never runs two copies of one key at once: a duplicate waits for the first', async () => {
    await using bus = await createBus();
    const topic = defineTopic('charges', Job);
    const store = new MemoryIdempotencyStore();
    let running = 0;
    let maxRunning = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const spy = handlerSpy<{ n: number }>(async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await held;
      running -= 1;
    });
    await bus.subscribe(topic, spy.handler, { group: 'g', concurrency: 4, idempotency: { store, key: (m) => String((m.body as { n: number }).n), busyWaitMs: 10_000 } });
    await bus.publish(topic, { n: 1 });
    await spy.waitUntil(() => spy.active === 1);
    await bus.publish(topic, { n: 1 }); // another message, same key
    release();
    await spy.waitForCount(1);
    const marker = await bus.publish(topic, { n: 2 });
    await spy.waitForMessageWithId(marker);
    expect(maxRunning).toBe(1);
    expect(spy.calls.filter((c) => c.message.body.n === 1)).toHaveLength(1);
  });

  it('releases the key when the handler fails, so the retry runs', async () => {
    await using bus = await createBus();
    const topic = defineTopic('flaky', Job);
    const store = new MemoryIdempotencyStore();
    const spy = handlerSpy<{ n: number }>((_m, ctx) => {
      if (ctx.attempt === 1) throw new Error('first attempt fails');
    });
    await bus.subscribe(topic, spy.handler, { group: 'g', retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 10, jitter: false } }, idempotency: { store } });
    const id = await bus.publish(topic, { n: 1 });
    await spy.waitFor((c) => c.message.id === id && c.outcome === 'ack');
    expect(spy.calls.map((c) => c.outcome)).toEqual(['error', 'ack']);
  });

  it('does not run the handler when the store cannot claim: the delivery is retried', async () => {
    await using bus = await createBus();
    const topic = defineTopic('store-down', Job);
    let failures = 1;
    const inner = new MemoryIdempotencyStore();
    const store: IdempotencyStore = {
      name: 'flaky',
      claim: (...args) => (failures-- > 0 ? Promise.reject(new Error('store unreachable')) : inner.claim(...args)),
      extend: (...args) => inner.extend(...args),
      commit: (...args) => inner.commit(...args),
      release: (...args) => inner.release(...args),
    };
    const spy = handlerSpy<{ n: number }>();
    await bus.subscribe(topic, spy.handler, { group: 'g', retry: { maxAttempts: 5, backoff: { type: 'fixed', delayMs: 10, jitter: false } }, idempotency: { store } });
    const id = await bus.publish(topic, { n: 1 });
    await spy.waitForMessageWithId(id);
    expect(spy.calls).toHaveLength(1);
    expect(spy.calls[0]?.attempt).toBe(2);
  });
});

describe('a transport without delayed redelivery', () => {
  it('gets its retries held by core for the backoff, then nacked without a delay', async () => {
    const inner = createMemoryTransport();
    const nacks: (number | undefined)[] = [];
    const transport: Transport = new Proxy(inner, {
      get: (target, p) => {
        if (p === 'capabilities') return { ...memoryCapabilities, delayedRedelivery: 'none' };
        if (p === 'subscribe') {
          return (params: Parameters<Transport['subscribe']>[0]) =>
            target.subscribe({ ...params, onDelivery: (d) => params.onDelivery({ ...d, message: d.message, attempt: d.attempt, ack: () => d.ack(), nack: (o) => (nacks.push(o?.delayMs), d.nack(o)) }) });
        }
        return Reflect.get(target, p, target);
      },
    });
    await using bus = await createBus({ transport });
    const topic = defineTopic('no-delays', Job);
    const spy = handlerSpy<{ n: number }>((_m, ctx) => {
      if (ctx.attempt === 1) throw new Error('once');
    });
    await bus.subscribe(topic, spy.handler, { group: 'g', retry: { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 200, jitter: false } } });
    const id = await bus.publish(topic, { n: 1 });
    const done = await spy.waitFor((c) => c.message.id === id && c.outcome === 'ack');
    const failed = spy.calls.find((c) => c.outcome === 'error');
    expect(nacks).toEqual([undefined]);
    expect(done.at - (failed?.at ?? 0)).toBeGreaterThanOrEqual(190);
  });
});
