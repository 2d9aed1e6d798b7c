import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, handlerSpy, Signal } from '../src/index.js';

const Job = defineTopic('stats-jobs', z.object({ n: z.number() }));

describe('subscription statistics', () => {
  it('count every outcome and measure handler time', async () => {
    const settled = new Signal();
    const bus = await createBus({ url: 'memory://', middleware: [{ settled: () => settled.notify() }] });
    const spy = handlerSpy<{ n: number }>(async (msg) => {
      if (msg.body.n === 1 && msg.attempt === 1) throw new Error('retry once');
      if (msg.body.n === 2) throw new Error('always');
    });
    const sub = await bus.subscribe(Job, spy.handler, { group: 'g', retry: { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 5 } } });
    await bus.publishBatch(Job, [{ body: { n: 0 } }, { body: { n: 1 } }, { body: { n: 2 } }]);
    await settled.until(() => sub.stats().acked + sub.stats().deadLettered >= 3, 5_000, () => 'three messages done');
    const stats = sub.stats();
    expect(stats).toMatchObject({ topic: Job.name, group: 'g', received: 5, acked: 2, retried: 2, deadLettered: 1, failedToSettle: 0, inFlight: 0 });
    expect(stats.handlerMs?.samples).toBe(5);
    expect(stats.handlerMs?.p99).toBeGreaterThanOrEqual(stats.handlerMs?.p50 ?? Infinity);
    expect(stats.throughputPerSecond).toBeGreaterThan(0);
    expect(bus.stats().map((s) => s.group)).toEqual(['g']);
    await bus.close();
  });
});

describe('health', () => {
  it('reports a stalled subscription as degraded and a closed bus as not live', async () => {
    const bus = await createBus('memory://');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const spy = handlerSpy<{ n: number }>(() => held);
    await bus.subscribe(Job, spy.handler, { group: 'h' });
    expect(bus.health()).toMatchObject({ status: 'healthy', live: true, ready: true });
    await bus.publish(Job, { n: 0 });
    await spy.waitUntil(() => spy.active === 1, { timeoutMs: 2_000 });
    const stalled = bus.health({ stallAfterMs: 0 });
    expect(stalled).toMatchObject({ status: 'degraded', ready: false, live: true });
    expect(stalled.subscriptions[0]).toMatchObject({ state: 'stalled', inFlight: 1 });
    expect(bus.health({ stallAfterMs: 60_000 }).status).toBe('healthy');
    release();
    await bus.close();
    expect(bus.health()).toMatchObject({ status: 'unhealthy', live: false, ready: false, transport: { state: 'closed' } });
  });
});
