// Publish calls of one tick share a pipeline (publish-coalescer.ts): the coalescing itself with a
// fake pipeline, then against Redis that each call still settles on its own replies.
import { describe, expect, it } from 'vitest';
import { isOmnibusError, type TopicBound } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { PipelineCoalescer, type JobOutcome, type PipelineReply } from '../src/publish-coalescer.js';
import { Harness, message } from './helpers/transports.js';

/** A pipeline that records its commands and answers them with `answer(commands)`. */
class FakePipeline {
  readonly commands: string[] = [];
  constructor(
    private readonly answer: (commands: readonly string[]) => Promise<PipelineReply[] | null>,
    readonly sent: FakePipeline[],
  ) {}
  push(command: string): void {
    this.commands.push(command);
  }
  exec(): Promise<PipelineReply[] | null> {
    this.sent.push(this);
    return this.answer(this.commands);
  }
}

function coalescer(answer: (commands: readonly string[]) => Promise<PipelineReply[] | null> = async (commands) => commands.map((c): PipelineReply => [null, c]), max?: number) {
  const sent: FakePipeline[] = [];
  return { sent, coalescer: new PipelineCoalescer(() => new FakePipeline(answer, sent), max) };
}

/** A job queuing `commands`, with a promise of its outcome. */
function job(commands: string[], onAdd?: () => void) {
  let settle!: (outcome: JobOutcome) => void;
  const done = new Promise<JobOutcome>((resolve) => (settle = resolve));
  return {
    done,
    job: {
      commands: commands.length,
      add: (pipeline: FakePipeline) => {
        for (const command of commands) {
          pipeline.push(command);
          onAdd?.();
        }
      },
      settle: (outcome: JobOutcome) => settle(outcome),
    },
  };
}

describe('PipelineCoalescer', () => {
  it('sends the jobs of one tick in one pipeline and gives each its own replies', async () => {
    const { coalescer: c, sent } = coalescer();
    const a = job(['a1']);
    const b = job(['b1', 'b2']);
    const d = job(['d1']);
    c.submit(a.job);
    c.submit(b.job);
    await Promise.resolve();
    c.submit(d.job); // a later microtask of the same tick
    const outcomes = await Promise.all([a.done, b.done, d.done]);
    expect(sent.map((p) => p.commands)).toEqual([['a1', 'b1', 'b2', 'd1']]);
    expect(outcomes.map((o) => o.replies?.map(([, r]) => r))).toEqual([['a1'], ['b1', 'b2'], ['d1']]);
  });

  it('sends a lone job without waiting for a timer or I/O', async () => {
    const { coalescer: c, sent } = coalescer();
    const a = job(['a1']);
    c.submit(a.job);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(sent).toHaveLength(1);
    expect((await a.done).replies).toEqual([[null, 'a1']]);
  });

  it('splits a tick into pipelines of at most maxCommands, never splitting a job', async () => {
    const { coalescer: c, sent } = coalescer(undefined, 3);
    const jobs = [job(['a1', 'a2']), job(['b1', 'b2']), job(['c1', 'c2', 'c3', 'c4']), job(['d1'])];
    for (const j of jobs) c.submit(j.job);
    await Promise.all(jobs.map((j) => j.done));
    expect(sent.map((p) => p.commands)).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1', 'c2', 'c3', 'c4'], ['d1']]);
  });

  it('settles a job whose commands fail to build on its own and sends the others', async () => {
    const { coalescer: c, sent } = coalescer();
    const a = job(['a1']);
    const bad = job(['x1', 'x2'], () => {
      throw new Error('cannot encode');
    });
    const b = job(['b1']);
    for (const j of [a, bad, b]) c.submit(j.job);
    const [oa, obad, ob] = await Promise.all([a.done, bad.done, b.done]);
    expect((obad.error as Error).message).toBe('cannot encode');
    expect(oa.replies).toEqual([[null, 'a1']]);
    expect(ob.replies).toEqual([[null, 'b1']]);
    expect(sent.map((p) => p.commands)).toEqual([['a1', 'b1']]);
  });

  it('fails every job of a pipeline whose round trip failed, or that came back short', async () => {
    const lost = coalescer(() => Promise.reject(new Error('Connection is closed.')));
    const [a, b] = [job(['a1']), job(['b1'])];
    lost.coalescer.submit(a.job);
    lost.coalescer.submit(b.job);
    expect(((await a.done).error as Error).message).toBe('Connection is closed.');
    expect(((await b.done).error as Error).message).toBe('Connection is closed.');
    const short = coalescer(async () => [[null, 'only one']]);
    const [c1, c2] = [job(['c1']), job(['c2'])];
    short.coalescer.submit(c1.job);
    short.coalescer.submit(c2.job);
    expect(((await c1.done).error as Error).message).toMatch(/no reply/);
    expect(((await c2.done).error as Error).message).toMatch(/no reply/);
  });
});

describeWithBroker('redis', 'redis transport: concurrent publish calls share a round trip', (endpoint) => {
  const reject: TopicBound = { maxMessages: 2, overflow: 'reject' };

  it('settles each call on its own replies: a refused call does not fail the others of its pipeline', async () => {
    const harness = new Harness(endpoint.url);
    try {
      const transport = harness.transport();
      await transport.declareTopic('tight', { bound: reject });
      await transport.ensureGroup('tight', 'g');
      await transport.ensureGroup('open', 'g');
      // All in one tick: one pipeline; the third and fourth calls to 'tight' find it full.
      const calls = [
        transport.publish([message('tight', 't1')]),
        transport.publish([message('open', 'o1'), message('open', 'o2')]),
        transport.publish([message('tight', 't2')]),
        transport.publish([message('tight', 't3')]),
        transport.publish([message('open', 'o3')]),
        transport.publish([message('tight', 't4')]),
      ];
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'rejected']);
      for (const index of [3, 5]) {
        const outcome = outcomes[index] as PromiseRejectedResult;
        expect(isOmnibusError(outcome.reason, 'QUEUE_FULL'), String(outcome.reason)).toBe(true);
      }
      const redis = harness.redis();
      expect(await redis.xlen(harness.keys.topic('open'))).toBe(3);
      expect(await redis.xlen(harness.keys.topic('tight'))).toBe(2);
    } finally {
      await harness.cleanup();
    }
  });

  it('lets a publish whose entry Redis refuses fail alone', async () => {
    const harness = new Harness(endpoint.url);
    try {
      const transport = harness.transport();
      await transport.ensureGroup('fine', 'g');
      await transport.connect();
      // A key of the wrong type makes that call's XADD fail with WRONGTYPE; the other call is stored.
      const redis = harness.redis();
      await redis.set(harness.keys.topic('wrong'), 'a string');
      const [bad, good] = await Promise.allSettled([transport.publish([message('wrong', 'w1')]), transport.publish([message('fine', 'f1')])]);
      expect(bad.status).toBe('rejected');
      expect(isOmnibusError((bad as PromiseRejectedResult).reason, 'PUBLISH_FAILED'), String((bad as PromiseRejectedResult).reason)).toBe(true);
      expect(good.status).toBe('fulfilled');
      expect(await redis.xlen(harness.keys.topic('fine'))).toBe(1);
    } finally {
      await harness.cleanup();
    }
  });
});
