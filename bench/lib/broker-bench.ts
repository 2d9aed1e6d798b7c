// One broker: preflight both sides, then `rounds` rounds of raw and Omnibus (order alternating
// each round), each doing the same three runs, then clean the broker up.
//
// Per side and round:
//   1. publish N messages as fast as the window allows           → publish msgs/s
//   2. a consumer process drains that backlog, one ack each       → consume msgs/s, peak RSS
//   3. the same process subscribes to a second topic; messages are
//      published one at a time at a fixed rate                    → end-to-end latency p50/p99
//   4. publish M messages to a third topic with one single-message
//      publish call each, a window of them in flight              → per-message publish msgs/s
import { setTimeout as sleep } from 'node:timers/promises';
import { redactUrl } from '@omnibus/core';
import { cleanup, type KnownRabbitNames } from '../sides/cleanup.js';
import { DEFAULT_PORTS, makeSide, PEER_BROKERS, setupTopic, type SideOptions } from '../sides/index.js';
import { queueName } from '../sides/rabbitmq.js';
import { PEER_KINDS, type AnySideKind, type PeerKind, type Side, type SideKind, type Target } from '../sides/types.js';
import { WorkerProcess } from './child.js';
import type { BenchConfig, BrokerName } from './config.js';
import { publishAll, publishEach, publishPaced, type PublishRun } from './measure.js';
import { bodyFactory } from './payload.js';
import { probe } from './probe.js';
import type { ConsumeResult, LatencyResult } from './protocol.js';
import { median, type LatencySummary } from './stats.js';

export interface SideRound {
  readonly round: number;
  /** 1 = ran first in its round. */
  readonly position: number;
  /** publishBatch (raw: one pipeline / send / window slice per call). */
  publish?: PublishRun;
  /** One single-message publish call per message (Omnibus: `bus.publish`; raw: `sendOne`). */
  perMessage?: PublishRun;
  consume?: ConsumeResult;
  latency?: LatencyResult & { publishFailed: number; schedulerLagMs: number };
  error?: string;
}

export interface Figures {
  readonly publishMsgsPerSec: number | undefined;
  readonly perMessagePublishMsgsPerSec: number | undefined;
  readonly consumeMsgsPerSec: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly peakRssMiB: number | undefined;
  readonly publishCpuUsPerMsg: number | undefined;
  readonly perMessagePublishCpuUsPerMsg: number | undefined;
  readonly consumeCpuUsPerMsg: number | undefined;
}

export interface SideResult {
  /** 'ok': measured (some rounds may have errors); 'skipped': not run, see reason. */
  status: 'ok' | 'skipped';
  reason?: string | undefined;
  rounds: SideRound[];
  medians?: Figures;
}

/** A peer framework's side (`--peers`): measured like the others, with its durability. */
export interface PeerResult extends SideResult {
  /** False: pub/sub, nothing kept for an absent consumer (its consumer subscribed before publishing). */
  durable: boolean;
  /** Caveats of this framework on this broker (e.g. "Redis transport is pub/sub"). */
  note?: string | undefined;
}

export interface BrokerResult {
  readonly broker: BrokerName;
  readonly url: string;
  status: 'ok' | 'skipped';
  reason?: string | undefined;
  readonly sides: Record<SideKind, SideResult>;
  /** With --peers: the other frameworks on this broker (absent without --peers). */
  peers?: Partial<Record<PeerKind, PeerResult>>;
  cleanup?: { removed: number } | { error: string };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why the Omnibus side cannot run: a transport that is not there yet reads differently from a broker error. */
function omnibusFailure(error: unknown): string {
  const text = errorText(error);
  if (/does not export createTransport|is not installed/i.test(text)) return `transport not implemented yet (${text})`;
  return `cannot connect through Omnibus: ${text}`;
}

export function mediansOf(rounds: readonly SideRound[]): Figures {
  const ok = rounds.filter((r) => !r.error);
  const pick = (f: (r: SideRound) => number | undefined) => median(ok.map(f).filter((v): v is number => v !== undefined));
  const lat = (r: SideRound, k: keyof LatencySummary) => (r.latency && !r.latency.timedOut ? r.latency.summary?.[k] : undefined);
  return {
    publishMsgsPerSec: pick((r) => r.publish?.msgsPerSec),
    perMessagePublishMsgsPerSec: pick((r) => r.perMessage?.msgsPerSec),
    consumeMsgsPerSec: pick((r) => (r.consume && !r.consume.timedOut ? r.consume.msgsPerSec : undefined)),
    p50Ms: pick((r) => lat(r, 'p50Ms')),
    p99Ms: pick((r) => lat(r, 'p99Ms')),
    peakRssMiB: pick((r) => (r.consume ? r.consume.peakRssKiB / 1024 : undefined)),
    publishCpuUsPerMsg: pick((r) => r.publish?.cpuUsPerMsg),
    perMessagePublishCpuUsPerMsg: pick((r) => r.perMessage?.cpuUsPerMsg),
    consumeCpuUsPerMsg: pick((r) => (r.consume && !r.consume.timedOut ? r.consume.cpuUsPerMsg : undefined)),
  };
}

interface Context {
  readonly config: BenchConfig;
  readonly broker: BrokerName;
  readonly url: string;
  readonly marker: string;
  readonly sideOptions: SideOptions;
  readonly rabbitNames: { queues: string[]; exchanges: string[] };
  readonly log: (line: string) => void;
}

/** Short side names in broker object names (every name also carries the run's marker). */
const ABBREVIATIONS: Record<AnySideKind, string> = { raw: 'raw', omnibus: 'omni', moleculer: 'mol', nestjs: 'nest' };

async function runSideRound(ctx: Context, side: Side, round: number, position: number): Promise<SideRound> {
  const { config, broker } = ctx;
  const result: SideRound = { round, position };
  const base = `${ctx.marker}-${ABBREVIATIONS[side.kind]}-r${round}`;
  const durable = side.durable !== false;
  const label = side.kind.padEnd(9);
  const throughput: Target = { topic: `${base}-thr`, group: `${base}-g` };
  const latency: Target = { topic: `${base}-lat`, group: `${base}-g` };
  const perMessage: Target = { topic: `${base}-one`, group: `${base}-g` };
  ctx.rabbitNames.exchanges.push(throughput.topic, latency.topic, perMessage.topic);
  ctx.rabbitNames.queues.push(queueName(throughput), queueName(latency), queueName(perMessage));
  // @moleculer/channels names its AMQP queues `<group>.<topic>`.
  if (side.kind === 'moleculer') ctx.rabbitNames.queues.push(...[throughput, latency, perMessage].map((t) => `${t.group}.${t.topic}`));
  const makeBody = bodyFactory(config.payloadBytes);
  const latencyCount = config.latencyRate * config.latencySeconds;
  let worker: WorkerProcess | undefined;
  try {
    for (const target of [throughput, latency, perMessage]) {
      await setupTopic(broker, ctx.url, target.topic, ctx.sideOptions);
      await side.prepare(target);
    }
    worker = await WorkerProcess.start({ broker, side: side.kind, url: ctx.url, concurrency: config.concurrency, partitions: config.kafkaPartitions, rawEnvelope: config.rawEnvelope }, `${broker}-${side.kind}-r${round}`);

    // Warm the publishing path up (not measured): these wait in the latency topic (seq -1).
    const latencyPublisher = await side.publisher(latency);
    const warmupBacklog = Math.min(1_000, config.messages);
    await publishAll(latencyPublisher, warmupBacklog, config, () => makeBody(-1));

    const publisher = await side.publisher(throughput);
    const consumeTimeoutMs = 60_000 + config.messages * 2;
    if (!durable) {
      // Pub/sub keeps nothing for an absent consumer: subscribe first, wait until a probe came
      // through, then publish while it consumes (so its consume rate is capped by the publish rate).
      worker.send({ cmd: 'consume', target: throughput, count: config.messages, timeoutMs: consumeTimeoutMs, live: true });
      await worker.next('subscribed', 60_000);
      const liveBy = Date.now() + 60_000;
      while (!worker.has('probe')) {
        if (Date.now() > liveBy) throw new Error('the consumer did not receive a probe within 60 s of subscribing');
        await publisher.sendOne(makeBody(-2));
        await sleep(100);
      }
      await worker.next('probe', 1_000);
    }
    result.publish = await publishAll(publisher, config.messages, config, (seq) => makeBody(seq));
    ctx.log(`  ${label} r${round} publish ${Math.round(result.publish.msgsPerSec)} msg/s, ${result.publish.cpuUsPerMsg.toFixed(1)} µs CPU/msg`);

    if (durable) worker.send({ cmd: 'consume', target: throughput, count: config.messages, timeoutMs: consumeTimeoutMs });
    result.consume = (await worker.next('consumed', consumeTimeoutMs + 60_000)).result;
    const c = result.consume;
    ctx.log(`  ${label} r${round} consume ${Math.round(c.msgsPerSec)} msg/s, ${c.cpuUsPerMsg.toFixed(1)} µs CPU/msg, peak RSS ${Math.round(c.peakRssKiB / 1024)} MiB${c.timedOut ? ` TIMED OUT (${c.received}/${config.messages})` : ''}${c.duplicates ? `, ${c.duplicates} duplicates` : ''}`);
    if (c.timedOut) throw new Error(`consume timed out after ${consumeTimeoutMs} ms with ${c.received}/${config.messages} messages`);

    const latencyTimeoutMs = config.latencySeconds * 1000 + 60_000;
    // Not durable: the warm-up messages went to no one, so there is no backlog to wait for.
    worker.send({ cmd: 'latency', target: latency, count: latencyCount, warmup: Math.floor(latencyCount / 10), backlog: durable ? warmupBacklog : 0, timeoutMs: latencyTimeoutMs });
    await worker.next('subscribed', 60_000);
    // Start once the consumer drained the warm-up backlog and a fresh probe came through (Kafka also needs its group join).
    const liveBy = Date.now() + 60_000;
    while (!worker.has('probe')) {
      if (Date.now() > liveBy) throw new Error('the latency consumer did not drain its warm-up backlog and receive a probe within 60 s');
      await latencyPublisher.sendOne(makeBody(-2));
      await sleep(100);
    }
    const paced = await publishPaced(latencyPublisher, latencyCount, config.latencyRate, makeBody);
    if (paced.failed > 0) throw new Error(`${paced.failed} paced publishes failed: ${paced.firstError}`);
    const l = (await worker.next('latency', latencyTimeoutMs + 30_000)).result;
    result.latency = { ...l, publishFailed: paced.failed, schedulerLagMs: paced.lagMs };
    ctx.log(`  ${label} r${round} latency p50 ${l.summary?.p50Ms.toFixed(2)} ms p99 ${l.summary?.p99Ms.toFixed(2)} ms${l.timedOut ? ` TIMED OUT (${l.received}/${latencyCount})` : ''}`);

    // Per-message publishing: one single-message publish call per message, a window in flight.
    // Its own topic (kept for the group, never consumed); a warm-up of single publishes first (seq -1).
    const onePublisher = await side.publisher(perMessage);
    await publishEach(onePublisher, Math.min(1_000, config.perMessageMessages), config.perMessageWindow, () => makeBody(-1));
    result.perMessage = await publishEach(onePublisher, config.perMessageMessages, config.perMessageWindow, (seq) => makeBody(seq));
    ctx.log(`  ${label} r${round} publish per message ${Math.round(result.perMessage.msgsPerSec)} msg/s, ${result.perMessage.cpuUsPerMsg.toFixed(1)} µs CPU/msg`);
  } catch (error) {
    result.error = errorText(error);
    ctx.log(`  ${label} r${round} ERROR ${result.error}`);
  } finally {
    await worker?.stop();
  }
  return result;
}

/** Run one broker. Never throws: a broker that is down or a side that fails is reported in the result. */
export async function benchBroker(config: BenchConfig, broker: BrokerName, marker: string, log: (line: string) => void): Promise<BrokerResult> {
  const url = config.urls[broker];
  const result: BrokerResult = {
    broker,
    url: redactUrl(url),
    status: 'ok',
    sides: { raw: { status: 'ok', rounds: [] }, omnibus: { status: 'ok', rounds: [] } },
  };
  const down = await probe(url, DEFAULT_PORTS[broker]);
  if (down) {
    result.status = 'skipped';
    result.reason = `broker down (${down})`;
    return result;
  }
  const ctx: Context = {
    config,
    broker,
    url,
    marker,
    sideOptions: { concurrency: config.concurrency, partitions: config.kafkaPartitions, rawEnvelope: config.rawEnvelope },
    rabbitNames: { queues: [], exchanges: [] },
    log,
  };
  const sides: Partial<Record<SideKind, Side>> = {};
  for (const kind of ['raw', 'omnibus'] as const) {
    if (!config.sides.includes(kind)) {
      result.sides[kind].status = 'skipped';
      result.sides[kind].reason = 'not selected (--side)';
      continue;
    }
    const side = makeSide(broker, kind, url, ctx.sideOptions);
    try {
      await withTimeout(side.connect(), 30_000, `${kind} connect`);
      sides[kind] = side;
    } catch (error) {
      await side.close().catch(() => {});
      result.sides[kind].status = 'skipped';
      result.sides[kind].reason = kind === 'raw' ? `broker unreachable: ${errorText(error)}` : omnibusFailure(error);
    }
  }
  if (!sides.raw && config.sides.includes('raw')) {
    result.status = 'skipped';
    result.reason = result.sides.raw.reason;
    await sides.omnibus?.close().catch(() => {});
    return result;
  }
  // --peers: the other frameworks, on the brokers they have a transport for. One that cannot
  // connect is reported with its error, as a result; the run goes on.
  const peers: Partial<Record<PeerKind, Side>> = {};
  if (config.peers) {
    result.peers = {};
    for (const kind of PEER_KINDS) {
      if (!PEER_BROKERS[kind].includes(broker)) continue;
      const peer: PeerResult = { status: 'ok', rounds: [], durable: true };
      result.peers[kind] = peer;
      let side: Side | undefined;
      try {
        side = makeSide(broker, kind, url, ctx.sideOptions);
        peer.durable = side.durable !== false;
        peer.note = side.note;
        await withTimeout(side.connect(), 30_000, `${kind} connect`);
        peers[kind] = side;
      } catch (error) {
        await side?.close().catch(() => {});
        peer.status = 'skipped';
        peer.reason = `cannot connect: ${errorText(error)}`;
        log(`  ${kind} skipped: ${peer.reason}`);
      }
    }
  }
  try {
    for (let round = 1; round <= config.rounds; round++) {
      const order: SideKind[] = round % 2 === 1 ? ['raw', 'omnibus'] : ['omnibus', 'raw'];
      for (const [index, kind] of order.entries()) {
        const side = sides[kind];
        if (side) result.sides[kind].rounds.push(await runSideRound(ctx, side, round, index + 1));
      }
      // The peers after raw and Omnibus, their order alternating too.
      const peerOrder = round % 2 === 1 ? PEER_KINDS : [...PEER_KINDS].reverse();
      for (const [index, kind] of peerOrder.entries()) {
        const side = peers[kind];
        const peer = result.peers?.[kind];
        if (side && peer) peer.rounds.push(await runSideRound(ctx, side, round, order.length + index + 1));
      }
    }
  } finally {
    await Promise.allSettled([...Object.values(sides), ...Object.values(peers)].map((s) => s.close()));
    try {
      result.cleanup = { removed: await withTimeout(cleanup(broker, url, marker, ctx.rabbitNames as KnownRabbitNames), 120_000, 'cleanup') };
    } catch (error) {
      result.cleanup = { error: errorText(error) };
    }
  }
  for (const side of [result.sides.raw, result.sides.omnibus, ...Object.values(result.peers ?? {})]) {
    if (side.status === 'ok') {
      side.medians = mediansOf(side.rounds);
      if (side.rounds.every((r) => r.error)) {
        side.status = 'skipped';
        side.reason = `every round failed: ${side.rounds[0]?.error ?? 'no rounds'}`;
      }
    }
  }
  return result;
}
