import { describe, expect, it } from 'vitest';
import { SettleOnce, TimeoutError, backoffDelay, decodeUrlPart, exponentialBackoff, pause, withTimeout } from '../src/index.js';

describe('transport kit', () => {
  it('SettleOnce runs the first settlement only, also when it fails', async () => {
    const once = new SettleOnce();
    const calls: string[] = [];
    const first = once.run(async () => {
      calls.push('ack');
      throw new Error('broker said no');
    });
    await expect(once.run(async () => void calls.push('nack'))).resolves.toBeUndefined();
    await expect(first).rejects.toThrow('broker said no');
    expect(once.state).toBe('settled');
    await once.run(async () => void calls.push('again'));
    expect(calls).toEqual(['ack']);
  });

  it('SettleOnce turns a synchronous throw into a rejection and abandon() makes later calls no-ops', async () => {
    const thrown = new SettleOnce();
    await expect(
      thrown.run(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    const abandoned = new SettleOnce();
    abandoned.abandon();
    let ran = false;
    await abandoned.run(async () => void (ran = true));
    expect(ran).toBe(false);
  });

  it('SettleOnce.claim gives the right to settle to the first caller only, and run() after it is a no-op', async () => {
    const once = new SettleOnce();
    expect(once.claim()).toBe(true);
    expect(once.claim()).toBe(false);
    expect(once.done).toBe(true);
    let ran = false;
    await once.run(async () => void (ran = true));
    expect(ran).toBe(false);
  });

  it('withTimeout rejects with the given error after the deadline and passes a result through before it', async () => {
    await expect(withTimeout(new Promise(() => {}), 20, () => new TimeoutError('too slow'))).rejects.toThrow('too slow');
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new TimeoutError('never'))).resolves.toBe(7);
  });

  it('pause wakes early on abort', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const waiting = pause(60_000, controller.signal);
    controller.abort();
    await waiting;
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('exponentialBackoff doubles up to the cap without jitter', () => {
    const backoff = exponentialBackoff(50, 1_000);
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(backoff, n))).toEqual([50, 100, 200, 400, 800, 1_000]);
  });

  it('decodeUrlPart decodes a valid percent-encoded part, and keeps one that is not exactly as written', () => {
    expect(decodeUrlPart('p%40ss%3Aw%2Fd')).toBe('p@ss:w/d');
    expect(decodeUrlPart('%C3%BC')).toBe('ü');
    expect(decodeUrlPart('50%off')).toBe('50%off');
    // Not some runs decoded and others kept: that would be a credential nobody typed.
    expect(decodeUrlPart('a%41%zz')).toBe('a%41%zz');
    expect(decodeUrlPart('%E0%A4%A')).toBe('%E0%A4%A');
  });
});
