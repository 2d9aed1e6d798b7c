import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, NonRetryableError, Signal, type SettledEvent } from '../src/index.js';

describe('settled hooks', () => {
  it('report every delivery once, with its outcome, after it was settled', async () => {
    const events: SettledEvent[] = [];
    const signal = new Signal();
    const bus = await createBus({
      url: 'memory://',
      middleware: [{ settled: (event) => (events.push(event), signal.notify()) }, { settled: () => { throw new Error('a hook that throws changes nothing'); } }],
    });
    const topic = defineTopic('settled-hooks', z.object({ n: z.number() }));
    await bus.subscribe(
      topic,
      async (msg) => {
        if (msg.body.n === 1 && msg.attempt === 1) throw new Error('once');
        if (msg.body.n === 2) throw new NonRetryableError('never');
      },
      { group: 'g', retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 10 } } },
    );
    const ok = await bus.publish(topic, { n: 0 });
    const retried = await bus.publish(topic, { n: 1 });
    const dead = await bus.publish(topic, { n: 2 });
    await signal.until(() => events.filter((e) => e.topic === topic.name).length >= 4, 5_000, () => `4 events (got ${events.length})`);
    const of = (id: string) => events.filter((e) => e.messageId === id && e.topic === topic.name).map((e) => [e.outcome, e.attempt]);
    expect(of(ok)).toEqual([['ack', 1]]);
    expect(of(retried)).toEqual([['retry', 1], ['ack', 2]]);
    expect(of(dead)).toEqual([['dead-letter', 1]]);
    const retry = events.find((e) => e.messageId === retried && e.outcome === 'retry');
    expect(retry).toMatchObject({ transport: 'memory', group: 'g', delayMs: 10, message: { body: { n: 1 } } });
    expect((retry?.error as Error).message).toBe('once');
    expect(events.find((e) => e.messageId === dead)?.reason).toBe('non-retryable');
    for (const event of events) expect(event.durationMs).toBeGreaterThanOrEqual(0);
    await bus.close();
  });
});
