// Unknown options are refused everywhere a user writes them, naming the mistyped key, and memory://
// keeps a delay as long as a real broker would (issue 12, item 7 and the `options.(root)` friction).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigError, createBus, createMemoryTransport, defineTopic, MemoryBroker, silentLogger } from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('unknown options', () => {
  it('a URL parameter memory:// does not know is refused, naming it', () => {
    const attempt = () => createMemoryTransport({ url: 'memory://?dupes=0.1', options: {}, logger: silentLogger });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/dupes/);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).field).toBe('url.dupes');
    }
  });

  it('the known parameters still turn faults on', () => {
    expect(() => createMemoryTransport({ url: 'memory://?seed=7&duplicates=0.1&redeliveries=0.05&reorder=true', options: {}, logger: silentLogger })).not.toThrow();
  });

  it('an unknown option of memory:// or of its faults is refused, naming the key', async () => {
    await expect(createBus({ url: 'memory://', options: { fautls: { duplicates: 0.1 } } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'options.fautls' });
    expect(() => createMemoryTransport({ url: 'memory://', options: { faults: { dupes: 0.1 } } as never, logger: silentLogger })).toThrow(
      expect.objectContaining({ field: 'options.faults.dupes' }) as unknown as Error,
    );
  });

  it('an unknown subscribe, retry or backoff option is refused, naming the key', async () => {
    const bus = await createBus('memory://');
    const topic = defineTopic('strict-options', z.object({ n: z.number() }));
    const handler = () => {};
    await expect(bus.subscribe(topic, handler, { group: 'g', concurency: 4 } as never)).rejects.toMatchObject({ field: 'subscribe options.concurency' });
    await expect(bus.subscribe(topic, handler, { group: 'g', retry: { maxAttempt: 5 } } as never)).rejects.toMatchObject({ field: 'subscribe options.retry.maxAttempt' });
    await expect(bus.subscribe(topic, handler, { group: 'g', retry: { backoff: { type: 'fixed', delay: 5 } } } as never)).rejects.toMatchObject({
      field: 'subscribe options.retry.backoff.delay',
    });
    await bus.close();
  });
});

describe('memory:// delays past one timer', () => {
  it('keeps a message delayed by 2^31 ms or more for that long (a Node timer would fire after 1 ms)', () => {
    vi.useFakeTimers();
    const broker = new MemoryBroker();
    const due = vi.fn();
    const delayMs = 2 ** 31 + 10_000;
    broker.later(delayMs, due);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(due).not.toHaveBeenCalled();
    vi.advanceTimersByTime(9_999);
    expect(due).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(due).toHaveBeenCalledTimes(1);
    broker.dispose();
  });
});
