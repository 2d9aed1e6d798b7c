// The ways the benchmark publishes: as fast as the window allows (in batches, or one message per
// call), and at a fixed rate.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchBody } from './payload.js';
import { nowUs } from './payload.js';
import type { Publisher } from '../sides/types.js';

export interface PublishRun {
  readonly seconds: number;
  readonly msgsPerSec: number;
  /** CPU time (user + system) of this process per message: less sensitive to a busy machine than msgs/s. */
  readonly cpuUsPerMsg: number;
}

/** User + system CPU microseconds of this process since `since`. */
export function cpuSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/**
 * Publish seq 0..count-1 in calls of `batch` messages with `inflight` calls outstanding
 * (so at most batch × inflight unconfirmed messages). Bodies are built inside the timed loop:
 * encoding is part of publishing on both sides.
 */
export async function publishAll(
  publisher: Publisher,
  count: number,
  options: { batch: number; inflight: number; seqOffset?: number },
  makeBody: (seq: number) => BenchBody,
): Promise<PublishRun> {
  const offset = options.seqOffset ?? 0;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const start = next;
      const end = Math.min(count, start + options.batch);
      next = end;
      const bodies: BenchBody[] = [];
      for (let i = start; i < end; i++) bodies.push(makeBody(i + offset));
      await publisher.sendBatch(bodies);
    }
  };
  const cpu = process.cpuUsage();
  const t0 = nowUs();
  await Promise.all(Array.from({ length: options.inflight }, lane));
  const seconds = (nowUs() - t0) / 1e6;
  return { seconds, msgsPerSec: count / seconds, cpuUsPerMsg: cpuSince(cpu) / count };
}

/**
 * Publish seq 0..count-1 with one single-message publish (`sendOne`) per message and `window`
 * of them unconfirmed at a time: `window` lanes, each awaiting its publish before sending the next
 * (an application publishing per message under load). Bodies are built inside the timed loop.
 */
export async function publishEach(
  publisher: Publisher,
  count: number,
  window: number,
  makeBody: (seq: number) => BenchBody,
  seqOffset = 0,
): Promise<PublishRun> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const seq = next;
      next += 1;
      await publisher.sendOne(makeBody(seq + seqOffset));
    }
  };
  const cpu = process.cpuUsage();
  const t0 = nowUs();
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  const seconds = (nowUs() - t0) / 1e6;
  return { seconds, msgsPerSec: count / seconds, cpuUsPerMsg: cpuSince(cpu) / count };
}

/**
 * Publish seq 0..count-1 one message per call at `rate` messages per second, without waiting for
 * one confirm before the next send (the steady trickle of an application). Each body carries the
 * time it was handed to the client. Resolves when all were confirmed; the result counts failures.
 */
export async function publishPaced(
  publisher: Publisher,
  count: number,
  rate: number,
  makeBody: (seq: number, sentAt: number) => BenchBody,
): Promise<{ failed: number; firstError: string | undefined; lagMs: number }> {
  const intervalUs = 1e6 / rate;
  const pending: Promise<void>[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let maxLagUs = 0;
  const start = nowUs();
  for (let seq = 0; seq < count; ) {
    const due = start + seq * intervalUs;
    const now = nowUs();
    if (now < due) {
      // Timers are ~1 ms granular: at 1,000 msg/s this sends one or two messages per tick.
      await sleep(Math.max(0, (due - now) / 1000));
      continue;
    }
    maxLagUs = Math.max(maxLagUs, now - due);
    pending.push(
      publisher.sendOne(makeBody(seq, now)).catch((error: unknown) => {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }),
    );
    seq += 1;
  }
  await Promise.all(pending);
  return { failed, firstError, lagMs: maxLagUs / 1000 };
}
