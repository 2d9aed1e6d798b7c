/**
 * (d) A log pipeline: several producers (web servers) publish log lines as they happen; one
 * batch consumer writes them to the log store in bulk (one insert per batch rather than per
 * line), with `bus.subscribeBatch(topic, handler, { maxBatch, maxWaitMs })`.
 *
 * A line the store refuses is singled out with `ctx.deadLetter(message, reason)`; the rest of its
 * batch is acked. The bulk insert is a simulated 15 ms write per batch.
 */
import { z } from 'zod';
import { DEAD_LETTER_GROUP, Signal, deadLetterTopicOf, defineTopic } from '@omnibus/core';
import { banner, deleteGroups, ms, openBus, percentile, runAsScript, runSuffix, since, work, type Print } from './shared.js';

const PRODUCERS = 3;
const LINES_PER_PRODUCER = 40;
const MAX_BATCH = 25;
const MAX_WAIT_MS = 50;
const BULK_INSERT_MS = 15;
const GROUP = 'log-store';

export interface LogPipelineResult {
  readonly producers: number;
  readonly published: number;
  /** Distinct lines stored (every one published, less the one malformed line dead-lettered). */
  readonly stored: number;
  readonly deadLettered: number;
  readonly batches: number;
  readonly batchSizes: { readonly min: number; readonly p50: number; readonly max: number };
  readonly maxBatch: number;
  /** Bulk inserts instead of one write per line. */
  readonly writesSaved: number;
  /** First publish to last line stored. */
  readonly totalMs: number;
  /** Publish to stored, per line. */
  readonly lineLatencyP50Ms: number;
}

const LogLine = z.object({ host: z.string(), seq: z.number().int(), level: z.enum(['debug', 'info', 'warn', 'error']), text: z.string() });

export async function runLogPipeline(url: string, print: Print): Promise<LogPipelineResult> {
  banner(print, `log pipeline: ${PRODUCERS} producers, one batch consumer (maxBatch ${MAX_BATCH}, maxWaitMs ${MAX_WAIT_MS})`, url);
  const LogLines = defineTopic(`logs.lines.${runSuffix()}`, LogLine);
  await using bus = await openBus(url, 'omnibus-example-log-pipeline');

  const stored = new Set<string>();
  const batchSizes: number[] = [];
  const latency: number[] = [];
  const publishedAt = new Map<string, number>();
  const deadLettered = new Set<string>();
  const progress = new Signal();

  const dead = await bus.subscribe(
    deadLetterTopicOf(LogLines),
    async (msg) => {
      deadLettered.add(msg.id);
      progress.notify();
    },
    { group: DEAD_LETTER_GROUP },
  );
  const store = await bus.subscribeBatch(
    LogLines,
    async (lines, ctx) => {
      batchSizes.push(lines.length);
      const rows = [];
      for (const line of lines) {
        // The log store refuses a line without text: dead-letter it alone, store the rest.
        if (line.body.text === '') ctx.deadLetter(line, 'empty log line');
        else rows.push(line);
      }
      await work(BULK_INSERT_MS); // INSERT … VALUES (…), (…), … : one write for the batch
      for (const row of rows) {
        const key = `${row.body.host}#${row.body.seq}`;
        if (!stored.has(key)) latency.push(since(publishedAt.get(key) as number));
        stored.add(key);
      }
      progress.notify();
    },
    { group: GROUP, maxBatch: MAX_BATCH, maxWaitMs: MAX_WAIT_MS, concurrency: 1 },
  );

  // Each producer writes its lines as they happen: small bursts of 1-4 lines.
  const start = performance.now();
  let bad = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      const host = `web-${p + 1}`;
      for (let seq = 1; seq <= LINES_PER_PRODUCER; ) {
        const burst = [];
        for (let b = 1 + ((seq + p) % 4); b > 0 && seq <= LINES_PER_PRODUCER; b--, seq++) {
          const malformed = p === 0 && seq === 7; // one broken logger line, to show a per-message outcome
          if (malformed) bad += 1;
          const level = seq % 10 === 0 ? 'error' : seq % 5 === 0 ? 'warn' : 'info';
          // No key: where a transport keeps per-key order (memory://, Kafka) it hands over one
          // message per key at a time, so keyed by host a batch would hold one line per host.
          burst.push({ body: { host, seq, level, text: malformed ? '' : `GET /items/${seq} 200` } as const });
          publishedAt.set(`${host}#${seq}`, performance.now());
        }
        await bus.publishBatch(LogLines, burst);
        await work(2); // requests arrive over time
      }
    }),
  );
  const published = PRODUCERS * LINES_PER_PRODUCER;
  print(`  ${PRODUCERS} producers published ${published} lines in ${ms(since(start))}`);

  await progress.until(
    () => stored.size >= published - bad && deadLettered.size >= bad,
    30_000,
    () => `${published - bad} lines stored and ${bad} dead-lettered (${stored.size} and ${deadLettered.size} so far)`,
  );
  const totalMs = since(start);
  await store.close();
  await dead.close();

  const sizes = { min: Math.min(...batchSizes), p50: percentile(batchSizes, 50), max: Math.max(...batchSizes) };
  print(`  stored ${stored.size} lines in ${batchSizes.length} bulk inserts (batch size min ${sizes.min}, p50 ${sizes.p50}, max ${sizes.max}; cap ${MAX_BATCH}), ${deadLettered.size} empty line dead-lettered alone`);
  print(`  ${published - batchSizes.length} writes saved; line published → stored p50 ${ms(percentile(latency, 50))}; all done ${ms(totalMs)} after the first publish`);
  await deleteGroups(bus, [
    [LogLines.name, GROUP],
    [deadLetterTopicOf(LogLines).name, DEAD_LETTER_GROUP],
  ]);
  return {
    producers: PRODUCERS,
    published,
    stored: stored.size,
    deadLettered: deadLettered.size,
    batches: batchSizes.length,
    batchSizes: sizes,
    maxBatch: MAX_BATCH,
    writesSaved: published - batchSizes.length,
    totalMs,
    lineLatencyP50Ms: percentile(latency, 50),
  };
}

runAsScript(import.meta.url, runLogPipeline);
