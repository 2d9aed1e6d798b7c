/** One reply of a pipeline, as ioredis gives it: the command's error, or its reply. */
export type PipelineReply = [Error | null, unknown];

/** What a pipeline must offer the coalescer (an ioredis pipeline does). */
export interface Pipeline {
  exec(): Promise<PipelineReply[] | null>;
}

/** How one pipeline of a flush ended for a job: its own replies (one per command), or a failure of the whole round trip. */
export type JobOutcome = { readonly replies: readonly PipelineReply[]; readonly error?: undefined } | { readonly error: unknown; readonly replies?: undefined };

/** One publish call's share of a pipeline. */
export interface PipelineJob<P extends Pipeline> {
  /** How many commands `add` queues (as many replies come back for the job). */
  readonly commands: number;
  /** Queue the job's commands on the pipeline. */
  add(pipeline: P): void;
  /** Called once, with the job's replies or why its pipeline failed. Must not throw. */
  settle(outcome: JobOutcome): void;
}

/** The most commands one coalesced pipeline carries (a single larger job still goes out whole, as before). */
export const MAX_COALESCED_COMMANDS = 1_000;

/**
 * Publish calls made in the same turn share round trips: each call queues a job, and once the
 * current tick's microtasks are done (process.nextTick, scheduled by the first job of the tick) the
 * jobs go out in pipelines of up to `maxCommands` commands, in call order. A lone call waits for
 * nothing but the end of its own microtask chain, no timer and no I/O; concurrent calls (an
 * application publishing per message, or the callers a batch of replies resumes at once) pay one
 * pipeline instead of one each.
 *
 * Each job gets its own replies back and settles on its own: a command refused (a QUEUE_FULL
 * reply, a Redis error) is the concern of the job that sent it only. A job whose `add` throws is
 * settled with that error and the pipeline is built again without it; only a failed round trip
 * (the connection) fails every job of that pipeline, as it would have failed each of them alone.
 */
export class PipelineCoalescer<P extends Pipeline> {
  private queued: PipelineJob<P>[] = [];
  private scheduled = false;

  constructor(
    private readonly pipeline: () => P,
    private readonly maxCommands = MAX_COALESCED_COMMANDS,
  ) {}

  /** Queue a job for the end of this tick. */
  submit(job: PipelineJob<P>): void {
    this.queued.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const jobs = this.queued;
    this.queued = [];
    let group: PipelineJob<P>[] = [];
    let commands = 0;
    for (const job of jobs) {
      if (group.length > 0 && commands + job.commands > this.maxCommands) {
        this.send(group);
        group = [];
        commands = 0;
      }
      group.push(job);
      commands += job.commands;
    }
    if (group.length > 0) this.send(group);
  };

  private send(jobs: readonly PipelineJob<P>[]): void {
    const built = this.build(jobs);
    if (!built) return;
    const { pipeline, sent } = built;
    const expected = sent.reduce((sum, job) => sum + job.commands, 0);
    let exec: Promise<PipelineReply[] | null>;
    try {
      exec = pipeline.exec();
    } catch (error) {
      for (const job of sent) job.settle({ error });
      return;
    }
    exec.then(
      (replies) => {
        if (!replies || replies.length !== expected) {
          const error = new Error(`no reply (${replies?.length ?? 0} replies for ${expected} commands)`);
          for (const job of sent) job.settle({ error });
          return;
        }
        let offset = 0;
        for (const job of sent) {
          job.settle({ replies: replies.slice(offset, offset + job.commands) });
          offset += job.commands;
        }
      },
      (error: unknown) => {
        for (const job of sent) job.settle({ error });
      },
    );
  }

  /** A pipeline with every job's commands; a job whose `add` throws is settled and left out. */
  private build(jobs: readonly PipelineJob<P>[]): { pipeline: P; sent: readonly PipelineJob<P>[] } | undefined {
    let remaining = jobs;
    while (remaining.length > 0) {
      let pipeline: P;
      try {
        pipeline = this.pipeline();
      } catch (error) {
        for (const job of remaining) job.settle({ error });
        return undefined;
      }
      const failedAt = remaining.findIndex((job) => {
        try {
          job.add(pipeline);
          return false;
        } catch (error) {
          job.settle({ error });
          return true;
        }
      });
      if (failedAt < 0) return { pipeline, sent: remaining };
      // The pipeline holds part of the failed job's commands: build it again without that job.
      remaining = remaining.filter((_, index) => index !== failedAt);
    }
    return undefined;
  }
}
