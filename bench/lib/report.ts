// The results as a Markdown table (stdout, latest.md, README) and as JSON (latest.json).
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PEER_KINDS, type PeerKind } from '../sides/types.js';
import type { BrokerResult, Figures, PeerResult } from './broker-bench.js';
import type { BenchConfig } from './config.js';
import type { MemoryResult } from './memory-bench.js';
import type { TracingResult } from './tracing-bench.js';
import { tracingMarkdown } from './tracing-report.js';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

export interface BenchReport {
  readonly date: string;
  readonly machine: Machine;
  readonly config: Omit<BenchConfig, 'urls' | 'outDir'>;
  readonly brokers: BrokerResult[];
  readonly memory: MemoryResult | undefined;
  readonly tracing?: TracingResult | undefined;
  readonly targets: { readonly throughputRatio: number; readonly batchPublishRatio: number; readonly p99ExtraMs: number };
}

/** Issue 16: per-message publish and consume at least 0.9 of raw, publishBatch at least 1.0, p99 within raw + 1 ms. */
export const TARGETS = { throughputRatio: 0.9, batchPublishRatio: 1, p99ExtraMs: 1 } as const;

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

const int = (v: number | undefined) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
const ms = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(2));
const ratio = (o: number | undefined, r: number | undefined) => (o === undefined || r === undefined || r === 0 ? undefined : o / r);

interface Row {
  readonly figure: string;
  readonly raw: string;
  readonly omnibus: string;
  readonly compare: string;
  readonly target: string;
}

function rows(raw: Figures | undefined, omni: Figures | undefined): Row[] {
  const r = raw ?? ({} as Partial<Figures>);
  const o = omni ?? ({} as Partial<Figures>);
  const throughput = (figure: string, a: number | undefined, b: number | undefined, target: number = TARGETS.throughputRatio): Row => {
    const q = ratio(b, a);
    const goal = target.toFixed(1);
    return {
      figure,
      raw: int(a),
      omnibus: int(b),
      compare: q === undefined ? '–' : q.toFixed(2),
      target: q === undefined ? '–' : q >= target ? `ok (≥ ${goal})` : `**MISSED** (≥ ${goal})`,
    };
  };
  const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : b - a);
  const signed = (d: number | undefined) => (d === undefined ? '–' : `${d >= 0 ? '+' : ''}${d.toFixed(2)} ms`);
  const p99Delta = delta(r.p99Ms, o.p99Ms);
  const cpu = (figure: string, a: number | undefined, b: number | undefined): Row => {
    const q = ratio(b, a);
    return { figure, raw: a === undefined ? '–' : a.toFixed(1), omnibus: b === undefined ? '–' : b.toFixed(1), compare: q === undefined ? '–' : q.toFixed(2), target: '' };
  };
  const rss = ratio(o.peakRssMiB, r.peakRssMiB);
  return [
    throughput('publish msg/s (publishBatch)', r.publishMsgsPerSec, o.publishMsgsPerSec, TARGETS.batchPublishRatio),
    throughput('publish msg/s (publish per message)', r.perMessagePublishMsgsPerSec, o.perMessagePublishMsgsPerSec),
    throughput('consume msg/s (ack each)', r.consumeMsgsPerSec, o.consumeMsgsPerSec),
    { figure: 'latency p50 ms', raw: ms(r.p50Ms), omnibus: ms(o.p50Ms), compare: signed(delta(r.p50Ms, o.p50Ms)), target: '' },
    {
      figure: 'latency p99 ms',
      raw: ms(r.p99Ms),
      omnibus: ms(o.p99Ms),
      compare: signed(p99Delta),
      target: p99Delta === undefined ? '–' : p99Delta <= TARGETS.p99ExtraMs ? `ok (≤ +${TARGETS.p99ExtraMs} ms)` : `**MISSED** (≤ +${TARGETS.p99ExtraMs} ms)`,
    },
    { figure: 'consumer peak RSS MiB', raw: int(r.peakRssMiB), omnibus: int(o.peakRssMiB), compare: rss === undefined ? '–' : rss.toFixed(2), target: '' },
    cpu('publisher CPU µs/msg (publishBatch)', r.publishCpuUsPerMsg, o.publishCpuUsPerMsg),
    cpu('publisher CPU µs/msg (per message)', r.perMessagePublishCpuUsPerMsg, o.perMessagePublishCpuUsPerMsg),
    cpu('consumer CPU µs/msg', r.consumeCpuUsPerMsg, o.consumeCpuUsPerMsg),
  ];
}

/** Which targets a broker missed, for the summary line and the exit message. */
export function misses(result: BrokerResult): string[] {
  const out: string[] = [];
  for (const row of rows(result.sides.raw.medians, result.sides.omnibus.medians)) {
    if (row.target.includes('MISSED')) out.push(`${result.broker} ${row.figure} (${row.compare})`);
  }
  return out;
}

const PEER_NAMES: Record<PeerKind, string> = { moleculer: 'moleculer', nestjs: 'NestJS' };

/** Peer columns of one broker's rows: [value, ratio to raw] per row, in the order of `rows`. */
function peerCells(raw: Figures | undefined, peer: PeerResult | undefined): [string, string][] {
  const count = rows(undefined, undefined).length;
  if (!peer) return Array.from({ length: count }, () => ['', '']);
  if (peer.status === 'skipped') {
    // A framework that fails on this broker: its error is the result.
    const failed = `failed: ${(peer.reason ?? '').replace(/\|/g, '\\|')}`;
    return Array.from({ length: count }, (_, i) => (i === 0 ? [failed, '–'] : ['–', '–']));
  }
  return rows(raw, peer.medians).map((row, i) => [i === 0 && !peer.durable ? `${row.omnibus} (not durable)` : row.omnibus, row.compare]);
}

/** What the Broker column says under the broker's name about its peers: durability caveats. */
function peerCaveats(result: BrokerResult): string[] {
  const out: string[] = [];
  for (const kind of PEER_KINDS) {
    const peer = result.peers?.[kind];
    if (!peer || (peer.durable && !peer.note)) continue;
    out.push(`*${PEER_NAMES[kind]}${peer.durable ? '' : ' (not durable)'}${peer.note ? `: ${peer.note}` : ''}*`);
  }
  return out;
}

/** The first line of every report: when and on what. */
function header(report: BenchReport): string {
  const m = report.machine;
  return `Date: ${report.date} · machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.platform}`;
}

/** The tracing section alone, with its date line (bench/README.md keeps it in its own block). */
export function toTracingMarkdown(report: BenchReport): string | undefined {
  return report.tracing ? `${header(report)}\n\n${tracingMarkdown(report.tracing)}` : undefined;
}

/** True when the run measured the broker comparison or the memory table (not only the tracing section). */
export function hasComparison(report: BenchReport): boolean {
  return report.brokers.length > 0 || report.memory !== undefined;
}

export function toMarkdown(report: BenchReport): string {
  const { config } = report;
  const lines: string[] = [];
  lines.push(header(report));
  if (!hasComparison(report)) {
    if (report.tracing) lines.push('', tracingMarkdown(report.tracing));
    return lines.join('\n');
  }
  lines.push(
    `Workload: ${config.messages.toLocaleString('en-US')} messages of ${config.payloadBytes} B per throughput run, ${config.rounds} rounds (raw and Omnibus alternating), medians shown; ` +
      `publishBatch window ${config.batch} × ${config.inflight}; publish per message: ${config.perMessageMessages.toLocaleString('en-US')} messages, one call each, ${config.perMessageWindow.toLocaleString('en-US')} in flight; consumer concurrency ${config.concurrency}; latency at ${config.latencyRate.toLocaleString('en-US')} msg/s for ${config.latencySeconds} s (first 10% dropped); Kafka partitions ${config.kafkaPartitions}.`,
  );
  if (config.rawEnvelope) lines.push('Raw side with --raw-envelope: it carries and reads the same six CloudEvents headers as Omnibus, in its client\'s natural form.');
  const withPeers = report.brokers.some((b) => b.peers !== undefined);
  if (withPeers) {
    lines.push(
      '--peers: the same workload through @moleculer/channels and NestJS microservices (columns after Target; ratios to the raw client). ' +
        'A "(not durable)" peer is pub/sub: its consumer subscribed before the throughput run was published and consumed while it was published, ' +
        'so its consume rate is capped by its publish rate, and messages published with no consumer were dropped.',
    );
  }
  lines.push('');
  const peerHeader = withPeers ? ` ${PEER_KINDS.map((k) => `${PEER_NAMES[k]} | ${PEER_NAMES[k]}/raw`).join(' | ')} |` : '';
  const peerRule = withPeers ? PEER_KINDS.map(() => '---:|---:|').join('') : '';
  const peerBlank = withPeers ? PEER_KINDS.map(() => ' |  |').join('') : '';
  lines.push(`| Broker | Figure | ${config.rawEnvelope ? 'Raw client + envelope' : 'Raw client'} | Omnibus | Omnibus/raw | Target |${peerHeader}`);
  lines.push(`|---|---|---:|---:|---:|---|${peerRule}`);
  const notes: string[] = [];
  for (const broker of report.brokers) {
    if (broker.status === 'skipped') {
      lines.push(`| ${broker.broker} | skipped: ${broker.reason ?? ''} | | | | |${peerBlank}`);
      continue;
    }
    const cells = PEER_KINDS.map((kind) => peerCells(broker.sides.raw.medians, broker.peers?.[kind]));
    const caveats = peerCaveats(broker);
    rows(broker.sides.raw.medians, broker.sides.omnibus.medians).forEach((row, index) => {
      const name = index === 0 ? broker.broker : (caveats[index - 1] ?? '');
      const extra = withPeers ? cells.map((c) => ` ${c[index]?.[0] ?? ''} | ${c[index]?.[1] ?? ''} |`).join('') : '';
      lines.push(`| ${name} | ${row.figure} | ${row.raw} | ${row.omnibus} | ${row.compare} | ${row.target} |${extra}`);
    });
    const named: [string, PeerResult | BrokerResult['sides']['raw']][] = [
      ['raw', broker.sides.raw],
      ['omnibus', broker.sides.omnibus],
      ...PEER_KINDS.flatMap((kind): [string, PeerResult][] => (broker.peers?.[kind] ? [[kind, broker.peers[kind]]] : [])),
    ];
    for (const [kind, side] of named) {
      if (side.status === 'skipped') notes.push(`- ${broker.broker} ${kind}: skipped: ${side.reason ?? ''}`);
      for (const round of side.rounds) if (round.error) notes.push(`- ${broker.broker} ${kind} round ${round.round}: ${round.error}`);
      const dups = side.rounds.reduce((n, r) => n + (r.consume?.duplicates ?? 0) + (r.latency?.duplicates ?? 0), 0);
      if (dups > 0) notes.push(`- ${broker.broker} ${kind}: ${dups} duplicate deliveries over all rounds`);
    }
    if (broker.cleanup && 'error' in broker.cleanup) notes.push(`- ${broker.broker}: cleanup failed: ${broker.cleanup.error}`);
  }
  const mem = report.memory;
  if (mem) {
    lines.push('');
    lines.push(`In-memory transport, end to end (publishBatch → handler → ack), ${mem.messages.toLocaleString('en-US')} messages, medians of ${mem.rounds.length} rounds:`);
    lines.push('');
    lines.push('| Path | msg/s | µs per message |');
    lines.push('|---|---:|---:|');
    if (mem.error) lines.push(`| failed: ${mem.error} | | |`);
    const per = (rate: number | undefined) => (rate ? (1e6 / rate).toFixed(2) : '–');
    lines.push(`| transport only (JSON bytes, ack) | ${int(mem.transportMsgsPerSec)} | ${per(mem.transportMsgsPerSec)} |`);
    lines.push(`| bus (zod on publish and receive, envelope, policy layer) | ${int(mem.busMsgsPerSec)} | ${per(mem.busMsgsPerSec)} |`);
    lines.push(`| policy layer cost per message | | ${mem.policyCostUs === undefined ? '–' : `+${mem.policyCostUs.toFixed(2)}`} |`);
  }
  if (notes.length > 0) {
    lines.push('');
    lines.push('Notes:');
    lines.push(...notes);
  }
  if (report.tracing) lines.push('', tracingMarkdown(report.tracing));
  return lines.join('\n');
}

/**
 * Writes `<name>.json` and `<name>.md`: `latest` for a plain run, `raw-envelope` with --raw-envelope,
 * `peers` with --peers,
 * `tracing` for a run of the tracing section alone (so `--only tracing` never overwrites `latest`).
 */
export async function writeResults(dir: string, report: BenchReport, markdown: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const name = !hasComparison(report) && report.tracing ? 'tracing' : report.config.rawEnvelope ? 'raw-envelope' : report.config.peers ? 'peers' : 'latest';
  const json = join(dir, `${name}.json`);
  const md = join(dir, `${name}.md`);
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(md, `${markdown}\n`);
  return [json, md];
}
