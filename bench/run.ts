// `npm run bench`: Omnibus against the raw client on every broker, plus the in-memory transport.
// Prints a Markdown table to stdout (progress goes to stderr) and writes bench/results/latest.{json,md}.
// A benchmark, not a test: it exits 0 whatever the numbers; only a usage error exits non-zero.
// See bench/README.md.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { benchBroker, type BrokerResult } from './lib/broker-bench.js';
import { BROKERS, loadConfig, type BenchConfig } from './lib/config.js';
import { benchMemory, type MemoryResult } from './lib/memory-bench.js';
import { hasComparison, machine, misses, TARGETS, toMarkdown, toTracingMarkdown, writeResults, type BenchReport } from './lib/report.js';
import { benchTracing, type TracingResult } from './lib/tracing-bench.js';
import { cleanup } from './sides/cleanup.js';

// kafkajs prints a partitioner notice on every producer otherwise (the worker inherits this).
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const log = (line: string) => process.stderr.write(`${line}\n`);
const README = fileURLToPath(new URL('./README.md', import.meta.url));
const LATEST = ['<!-- bench:latest:start -->', '<!-- bench:latest:end -->'] as const;
const TRACING = ['<!-- bench:tracing:start -->', '<!-- bench:tracing:end -->'] as const;

/** Every object a benchmark run creates has this in its name (see sides/cleanup.ts). */
const PREFIX = 'omnibench';

/** Replace the text between one pair of markers of bench/README.md. */
async function updateReadme([START, END]: readonly [string, string], markdown: string): Promise<void> {
  const text = await readFile(README, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`bench/README.md has no ${START} … ${END} block`);
  await writeFile(README, `${text.slice(0, start + START.length)}\n${markdown}\n${text.slice(end)}`);
}

/** `--cleanup`: remove what interrupted runs left behind (every name containing "omnibench-"). */
async function cleanupAll(config: BenchConfig): Promise<void> {
  for (const broker of BROKERS) {
    try {
      log(`${broker}: removed ${await cleanup(broker, config.urls[broker], `${PREFIX}-`)} objects`);
    } catch (error) {
      log(`${broker}: cleanup failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const cleanOnly = argv.includes('--cleanup');
  const writeReadme = argv.includes('--readme');
  let config: BenchConfig | undefined;
  try {
    config = loadConfig(argv.filter((a) => a !== '--cleanup' && a !== '--readme'), process.env);
  } catch (error) {
    log(`bench: ${error instanceof Error ? error.message : String(error)} (see --help)`);
    return 2;
  }
  if (!config) return 0;
  if (cleanOnly) {
    await cleanupAll(config);
    return 0;
  }

  if (config.peers) {
    // A peer framework's stray rejection (e.g. a client's pending reply rejected when it closes) is
    // logged, not allowed to end the run: failures are results.
    process.on('unhandledRejection', (reason) => log(`  unhandled rejection (a framework's, run goes on): ${reason instanceof Error ? reason.message : String(reason)}`));
  }
  const marker = `${PREFIX}-${Date.now().toString(36)}`;
  log(`bench ${marker}: ${config.messages} messages × ${config.rounds} rounds, targets ${config.only.join(',')}`);
  const brokers: BrokerResult[] = [];
  let memory: MemoryResult | undefined;
  let tracing: TracingResult | undefined;

  if (config.only.includes('memory')) {
    log('memory transport');
    memory = await benchMemory(config, log);
  }
  for (const broker of BROKERS) {
    if (!config.only.includes(broker)) continue;
    log(`${broker}`);
    const result = await benchBroker(config, broker, marker, log);
    if (result.status === 'skipped') log(`  skipped: ${result.reason}`);
    if (result.sides.omnibus.status === 'skipped' && result.status !== 'skipped') log(`  omnibus skipped: ${result.sides.omnibus.reason}`);
    brokers.push(result);
  }
  if (config.only.includes('tracing')) tracing = await benchTracing(config, marker, log);

  const { urls: _urls, outDir, ...shown } = config;
  const report: BenchReport = { date: new Date().toISOString(), machine: machine(), config: shown, brokers, memory, tracing, targets: TARGETS };
  const markdown = toMarkdown(report);
  console.log(markdown);
  if (outDir) log(`wrote ${(await writeResults(outDir, report, markdown)).join(', ')}`);
  if (writeReadme) {
    // Each section has its own block, so a run of one section leaves the other's figures in place.
    const { tracing: _tracing, ...comparison } = report;
    if (hasComparison(report)) await updateReadme(LATEST, toMarkdown(comparison));
    const tracingText = toTracingMarkdown(report);
    if (tracingText) await updateReadme(TRACING, tracingText);
    log('updated bench/README.md');
  }
  const missed = brokers.flatMap(misses);
  if (missed.length > 0) log(`targets missed: ${missed.join('; ')}`);
  return 0;
}

process.exitCode = await main();
