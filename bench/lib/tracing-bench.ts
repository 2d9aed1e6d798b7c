// The tracing-cost section: what @omnibus/opentelemetry adds per message, end to end, for each
// setting of lib/instrumentation.ts (none / api-only / sdk), on memory:// and on each broker.
//
// One run = one bus with that setting's middleware, in this process: subscribe, wait until a probe
// message came through (so a Kafka group join or a first fetch is not timed), then publish N
// messages in batches (the broker comparison's window) and stop the clock when the N-th distinct
// message was handled. Publisher and consumer share the process, so the CPU per message covers
// both halves of the instrumentation (send/create spans and process spans, metrics of both).
//
// Settings alternate: round r runs them in an order rotated by r, so none of them always runs
// first (warm JIT, a quieter machine) or last. Medians over rounds are reported.
import { createBus, defineTopic, redactUrl, type Bus } from '@omnibus/core';
import { cleanup } from '../sides/cleanup.js';
import { DEFAULT_PORTS, omnibusOptions, setupTopic } from '../sides/index.js';
import type { BenchConfig, TracingTarget } from './config.js';
import { INSTRUMENTATIONS, instrument, type InstrumentationKind, type Recorded } from './instrumentation.js';
import { publishAll } from './measure.js';
import { counter } from './memory-bench.js';
import { BenchBodySchema, bodyFactory, nowUs, type BenchBody } from './payload.js';
import { probe } from './probe.js';
import { median } from './stats.js';

export interface TracingRun {
  readonly round: number;
  readonly kind: InstrumentationKind;
  /** 1 = ran first in its round. */
  readonly position: number;
  readonly msgsPerSec: number;
  /** Wall time per message, publish to handled, in microseconds. */
  readonly usPerMsg: number;
  /** CPU (user + system) of this process per message: steadier than wall time on a shared machine. */
  readonly cpuUsPerMsg: number;
  /** sdk only: what the SDK recorded, to show every message was traced and counted. */
  readonly recorded?: Recorded | undefined;
}

export interface TracingFigures {
  readonly msgsPerSec: number | undefined;
  readonly usPerMsg: number | undefined;
  readonly cpuUsPerMsg: number | undefined;
  /**
   * Per round, this setting's CPU µs/msg minus `none`'s of the same round (paired, so a round
   * on a busier machine does not count against one setting only): median, lowest, highest.
   */
  readonly addedCpuUs: { readonly median: number; readonly min: number; readonly max: number } | undefined;
}

export interface TracingTargetResult {
  readonly target: TracingTarget;
  readonly url: string;
  readonly messages: number;
  status: 'ok' | 'skipped';
  reason?: string;
  readonly runs: TracingRun[];
  readonly errors: string[];
  medians?: Record<InstrumentationKind, TracingFigures>;
  cleanup?: { removed: number } | { error: string };
}

export interface TracingResult {
  readonly rounds: number;
  readonly targets: TracingTargetResult[];
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The order of the settings in round `round` (1-based): rotated by one each round. */
export function orderOf(round: number): InstrumentationKind[] {
  const shift = (round - 1) % INSTRUMENTATIONS.length;
  return [...INSTRUMENTATIONS.slice(shift), ...INSTRUMENTATIONS.slice(0, shift)];
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

interface RunPlan {
  readonly target: TracingTarget;
  readonly url: string;
  readonly options: Record<string, unknown>;
  readonly topic: string;
  readonly group: string;
  readonly count: number;
}

async function runOnce(config: BenchConfig, plan: RunPlan, kind: InstrumentationKind): Promise<Omit<TracingRun, 'round' | 'position'>> {
  const instrumentation = instrument(kind);
  let bus: Bus | undefined;
  let recorded: Recorded | undefined;
  let result: { seconds: number; cpuUs: number };
  try {
    if (plan.target !== 'memory') await setupTopic(plan.target, plan.url, plan.topic, { concurrency: config.concurrency, partitions: config.kafkaPartitions, rawEnvelope: false });
    bus = await createBus({ url: plan.url, options: plan.options, middleware: instrumentation.middleware });
    const topic = defineTopic(plan.topic, BenchBodySchema);
    const { onBody, done } = counter(plan.count);
    let probed!: () => void;
    const live = new Promise<void>((resolve) => (probed = resolve));
    await bus.ensureGroup(topic, plan.group);
    await bus.subscribe(
      topic,
      (message) => {
        if (message.body.seq === -2) probed();
        else onBody(message.body);
      },
      { group: plan.group, concurrency: config.concurrency },
    );
    const makeBody = bodyFactory(config.payloadBytes);
    await bus.publish(topic, makeBody(-2));
    await withTimeout(live, 60_000, 'the probe message');

    const b = bus;
    const publisher = {
      sendBatch: async (bodies: readonly BenchBody[]) => {
        await b.publishBatch(topic, bodies.map((body) => ({ body })));
      },
      sendOne: async (body: BenchBody) => {
        await b.publish(topic, body);
      },
    };
    const cpu = process.cpuUsage();
    const t0 = nowUs();
    await publishAll(publisher, plan.count, config, (seq) => makeBody(seq));
    await withTimeout(done, 60_000 + plan.count * 2, `${plan.count} messages`);
    const seconds = (nowUs() - t0) / 1e6;
    const used = process.cpuUsage(cpu);
    result = { seconds, cpuUs: used.user + used.system };
  } finally {
    // Close first, so the last process spans have ended before the SDK is flushed and read.
    await bus?.close().catch(() => {});
    recorded = await instrumentation.finish();
  }
  return {
    kind,
    msgsPerSec: plan.count / result.seconds,
    usPerMsg: (result.seconds * 1e6) / plan.count,
    cpuUsPerMsg: result.cpuUs / plan.count,
    recorded,
  };
}

function pairedAdded(runs: readonly TracingRun[], kind: InstrumentationKind): TracingFigures['addedCpuUs'] {
  const diffs: number[] = [];
  for (const run of runs) {
    if (run.kind !== kind) continue;
    const base = runs.find((r) => r.kind === 'none' && r.round === run.round);
    if (base) diffs.push(run.cpuUsPerMsg - base.cpuUsPerMsg);
  }
  const mid = median(diffs);
  return mid === undefined ? undefined : { median: mid, min: Math.min(...diffs), max: Math.max(...diffs) };
}

function mediansOf(runs: readonly TracingRun[]): Record<InstrumentationKind, TracingFigures> {
  const of = (kind: InstrumentationKind, pick: (run: TracingRun) => number) => median(runs.filter((r) => r.kind === kind).map(pick));
  const out = {} as Record<InstrumentationKind, TracingFigures>;
  for (const kind of INSTRUMENTATIONS) {
    out[kind] = {
      msgsPerSec: of(kind, (r) => r.msgsPerSec),
      usPerMsg: of(kind, (r) => r.usPerMsg),
      cpuUsPerMsg: of(kind, (r) => r.cpuUsPerMsg),
      addedCpuUs: kind === 'none' ? undefined : pairedAdded(runs, kind),
    };
  }
  return out;
}

async function benchTarget(config: BenchConfig, target: TracingTarget, marker: string, log: (line: string) => void): Promise<TracingTargetResult> {
  const url = target === 'memory' ? 'memory://' : config.urls[target];
  const count = target === 'memory' ? config.memoryMessages : config.tracingMessages;
  const result: TracingTargetResult = { target, url: redactUrl(url), messages: count, status: 'ok', runs: [], errors: [] };
  if (target !== 'memory') {
    const down = await probe(url, DEFAULT_PORTS[target]);
    if (down) {
      result.status = 'skipped';
      result.reason = `broker down (${down})`;
      return result;
    }
  }
  const options = target === 'memory' ? {} : omnibusOptions(target);
  const plan = (name: string, n: number): RunPlan => ({ target, url, options, topic: `${marker}-trc-${name}`, group: `${marker}-trc-g`, count: n });
  try {
    // Warm-up, not recorded: each setting once, small (JIT, connections, the broker's first topic).
    const warmup = Math.min(count, target === 'memory' ? 10_000 : 2_000);
    for (const kind of INSTRUMENTATIONS) await runOnce(config, plan(`warm-${kind}`, warmup), kind);
    for (let round = 1; round <= config.rounds; round++) {
      for (const [index, kind] of orderOf(round).entries()) {
        try {
          const run = { round, position: index + 1, ...(await runOnce(config, plan(`${kind}-r${round}`, count), kind)) };
          result.runs.push(run);
          const seen = run.recorded ? `, recorded ${run.recorded.spans} spans, ${run.recorded.sent} sent, ${run.recorded.consumed} consumed` : '';
          log(`  ${target} r${round} ${kind.padEnd(8)} ${Math.round(run.msgsPerSec)} msg/s, ${run.usPerMsg.toFixed(2)} µs/msg, ${run.cpuUsPerMsg.toFixed(2)} µs CPU/msg${seen}`);
        } catch (error) {
          result.errors.push(`r${round} ${kind}: ${errorText(error)}`);
          log(`  ${target} r${round} ${kind} ERROR ${errorText(error)}`);
        }
      }
    }
  } catch (error) {
    result.status = 'skipped';
    result.reason = `warm-up failed: ${errorText(error)}`;
  } finally {
    if (target !== 'memory') {
      try {
        result.cleanup = { removed: await withTimeout(cleanup(target, url, `${marker}-trc-`), 120_000, 'cleanup') };
      } catch (error) {
        result.cleanup = { error: errorText(error) };
      }
    }
  }
  if (result.status === 'ok') result.medians = mediansOf(result.runs);
  return result;
}

/** Run the section on every target of `--tracing-on`. Never throws: a broker that is down is reported as skipped. */
export async function benchTracing(config: BenchConfig, marker: string, log: (line: string) => void): Promise<TracingResult> {
  const targets: TracingTargetResult[] = [];
  for (const target of config.tracingOn) {
    log(`tracing cost: ${target}`);
    const result = await benchTarget(config, target, marker, log);
    if (result.status === 'skipped') log(`  skipped: ${result.reason}`);
    targets.push(result);
  }
  return { rounds: config.rounds, targets };
}
