import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, createMemoryBroker, createMemoryTransport, defineTopic, handlerSpy } from '../src/index.js';

const Tick = defineTopic('ticks', z.object({ n: z.number() }));

async function deliveredOrder(url: string, count: number, deliveries = count): Promise<number[]> {
  await using bus = await createBus(url);
  const spy = handlerSpy<{ n: number }>();
  await bus.ensureGroup(Tick, 'g');
  await bus.publishBatch(Tick, Array.from({ length: count }, (_, n) => ({ body: { n } })));
  await bus.subscribe(Tick, spy.handler, { group: 'g' });
  await spy.waitForCount(deliveries);
  return spy.calls.map((c) => c.message.body.n);
}

describe('memory transport fault injection', () => {
  it('duplicates every message when asked to', async () => {
    const seen = await deliveredOrder('memory://?seed=3&duplicates=1', 20, 40);
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(20);
  });

  it('reorders reproducibly from a seed', async () => {
    const first = await deliveredOrder('memory://?seed=11&reorder=true', 30);
    const again = await deliveredOrder('memory://?seed=11&reorder=true', 30);
    expect(first).toEqual(again);
    expect(first).not.toEqual([...first].sort((a, b) => a - b));
    expect([...first].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, n) => n));
  });

  it('redelivers acked messages, proving a consumer idempotent', async () => {
    await using bus = await createBus('memory://?seed=5&redeliveries=0.5');
    const processed = new Set<number>();
    const spy = handlerSpy<{ n: number }>(async (msg) => {
      processed.add(msg.body.n);
    });
    await bus.subscribe(Tick, spy.handler, { group: 'g', concurrency: 4 });
    await bus.publishBatch(Tick, Array.from({ length: 40 }, (_, n) => ({ body: { n } })));
    await spy.waitUntil(() => processed.size === 40 && spy.calls.length > 40);
    expect(spy.calls.some((c) => c.attempt > 1)).toBe(true);
  });

  it('rejects bad fault settings with the field named', () => {
    expect(() => createMemoryTransport({ url: 'memory://?duplicates=2' })).toThrow(/url\.duplicates/);
    expect(() => createMemoryBroker({ duplicates: -1 })).toThrow(/options\.faults\.duplicates/);
  });
});

describe('memory transport async context', () => {
  it('runs a handler in its subscriber\'s async context, never the publisher\'s (no real broker carries it)', async () => {
    const { AsyncLocalStorage } = await import('node:async_hooks');
    const storage = new AsyncLocalStorage<string>();
    await using bus = await createBus('memory://');
    const seen: (string | undefined)[] = [];
    const spy = handlerSpy<{ n: number }>(async () => {
      seen.push(storage.getStore());
    });
    await storage.run('subscriber', () => bus.subscribe(Tick, spy.handler, { group: 'context' }));
    await storage.run('publisher', () => bus.publish(Tick, { n: 1 }));
    await storage.run('publisher', () => bus.publishBatch(Tick, [{ body: { n: 2 } }, { body: { n: 3 } }]));
    await spy.waitForCount(3);
    expect(seen).toEqual(['subscriber', 'subscriber', 'subscriber']);
  });
});
