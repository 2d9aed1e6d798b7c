// Messages between the benchmark (parent) and a consumer worker (child process). The consumer
// runs in its own process so that its peak RSS belongs to one side only.
import type { BrokerName } from './config.js';
import type { LatencySummary } from './stats.js';
import type { AnySideKind, Target } from '../sides/types.js';

/** Given to the worker on its command line (JSON). */
export interface WorkerInit {
  readonly broker: BrokerName;
  readonly side: AnySideKind;
  readonly url: string;
  readonly concurrency: number;
  readonly partitions: number;
  readonly rawEnvelope: boolean;
}

export type ToWorker =
  /**
   * Consume `count` messages (seq 0..count-1) of the backlog, then close the consumer. `live`
   * (a side that is not durable): the consumer subscribes before anything is published; it reports
   * 'subscribed', then 'probe' once a readiness probe (seq -2) came through, and the benchmark
   * publishes only then.
   */
  | { readonly cmd: 'consume'; readonly target: Target; readonly count: number; readonly timeoutMs: number; readonly live?: boolean }
  /**
   * Subscribe; report 'probe' once the `backlog` warm-up messages (seq -1) already in the topic were
   * received and a readiness probe (seq -2) came through, so the measured messages never queue behind
   * the warm-up; then measure the latency of seq 0..count-1, dropping seq < warmup from the summary.
   */
  | { readonly cmd: 'latency'; readonly target: Target; readonly count: number; readonly warmup: number; readonly backlog: number; readonly timeoutMs: number }
  | { readonly cmd: 'exit' };

export interface ConsumeResult {
  readonly received: number;
  readonly duplicates: number;
  /** From the first delivery to the delivery of the last missing message. */
  readonly seconds: number;
  readonly msgsPerSec: number;
  /** CPU (user + system) of the consumer process per message, from the subscribe call to the last message. */
  readonly cpuUsPerMsg: number;
  /** From the subscribe call (includes group join / consumer creation). */
  readonly wallSeconds: number;
  /** VmHWM after the run: the consumer process's peak RSS (see worker.ts). */
  readonly peakRssKiB: number;
  /** RSS when connected and idle, before subscribing. */
  readonly idleRssKiB: number;
  readonly timedOut: boolean;
}

export interface LatencyResult {
  readonly received: number;
  readonly duplicates: number;
  readonly summary: LatencySummary | undefined;
  readonly timedOut: boolean;
}

export type FromWorker =
  | { readonly ev: 'ready'; readonly rssKiB: number }
  | { readonly ev: 'consumed'; readonly result: ConsumeResult }
  | { readonly ev: 'subscribed' }
  | { readonly ev: 'probe' }
  | { readonly ev: 'latency'; readonly result: LatencyResult }
  | { readonly ev: 'error'; readonly message: string };
