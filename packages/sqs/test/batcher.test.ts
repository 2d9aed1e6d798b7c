// The coalescing of single operations into SQS batch calls (src/batcher.ts), on a recorded call
// function: which entries each call carried, and what each entry's promise became.
import { describe, expect, it } from 'vitest';
import { exponentialBackoff } from '@omnibus/core';
import { Batcher, BatchFailure, type EntryOutcome } from '../src/batcher.js';

type Call = { queue: string; entries: number[] };

function recorder(outcome: (entry: number, call: number) => EntryOutcome | 'throw-transient' | 'throw-refused' = () => ({ ok: true }), maxBytes = 1_000_000) {
  const calls: Call[] = [];
  const batcher = new Batcher<number>({
    maxBytes,
    backoff: exponentialBackoff(5, 20),
    onSuccess: () => {},
    onTransientFailure: () => {},
    call: (queue, entries) => {
      calls.push({ queue, entries: [...entries] });
      const results = entries.map((entry) => outcome(entry, calls.length));
      if (results.includes('throw-transient')) return Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      if (results.includes('throw-refused')) return Promise.reject(Object.assign(new Error('AccessDenied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
      return Promise.resolve(results as EntryOutcome[]);
    },
  });
  return { calls, batcher };
}

const far = () => Date.now() + 10_000;

describe('sqs batcher', () => {
  it('puts the operations of one tick into calls of at most 10 entries per queue, in order', async () => {
    const { calls, batcher } = recorder();
    await Promise.all([...Array.from({ length: 25 }, (_, i) => batcher.add('q1', i, far())), batcher.add('q2', 100, far())]);
    expect(calls).toEqual([
      { queue: 'q1', entries: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { queue: 'q1', entries: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19] },
      { queue: 'q1', entries: [20, 21, 22, 23, 24] },
      { queue: 'q2', entries: [100] },
    ]);
  });

  it('never puts more than maxBytes into one call, and never splits an entry', async () => {
    const { calls, batcher } = recorder(undefined, 250);
    await Promise.all([1, 2, 3, 4].map((i) => batcher.add('q', i, far(), 100)));
    expect(calls.map((call) => call.entries)).toEqual([[1, 2], [3, 4]]);
  });

  it('retries a call that failed in transit, and an entry the broker failed, until they succeed', async () => {
    const { calls, batcher } = recorder((entry, call) => (call === 1 ? 'throw-transient' : entry === 2 && call === 2 ? { ok: false, error: new Error('InternalError'), retry: true } : { ok: true }));
    await Promise.all([1, 2, 3].map((i) => batcher.add('q', i, far())));
    expect(calls.map((call) => call.entries)).toEqual([[1, 2, 3], [1, 2, 3], [2]]);
  });

  it('rejects only the entry the broker refused; the others of the call resolve', async () => {
    const { batcher } = recorder((entry) => (entry === 2 ? { ok: false, error: new Error('InvalidMessageContents'), retry: false } : { ok: true }));
    const outcomes = await Promise.allSettled([1, 2, 3].map((i) => batcher.add('q', i, far())));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failure = (outcomes[1] as PromiseRejectedResult).reason as BatchFailure;
    expect(failure).toBeInstanceOf(BatchFailure);
    expect(failure.transient).toBe(false);
  });

  it('does not retry a refused call (403), and gives a transient failure up at its deadline', async () => {
    const refused = recorder(() => 'throw-refused');
    await expect(refused.batcher.add('q', 1, far())).rejects.toMatchObject({ transient: false });
    expect(refused.calls).toHaveLength(1);
    const down = recorder(() => 'throw-transient');
    const failure = (await down.batcher.add('q', 1, Date.now() + 60).catch((error: unknown) => error)) as BatchFailure;
    expect(failure).toMatchObject({ transient: true, deadlineReached: true });
    expect(down.calls.length).toBeGreaterThan(1);
  });
});
