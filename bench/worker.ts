// A consumer in its own process (forked by the benchmark), so its peak RSS is one side's alone.
// Commands arrive over IPC (see lib/protocol.ts); it connects one side, consumes what it is told
// to, and answers with the figures.
import { readFileSync } from 'node:fs';
import { nowUs, type BenchBody } from './lib/payload.js';
import type { ConsumeResult, FromWorker, LatencyResult, ToWorker, WorkerInit } from './lib/protocol.js';
import { summarizeLatencies } from './lib/stats.js';
import { makeSide } from './sides/index.js';
import type { Consumer } from './sides/types.js';

const init = JSON.parse(process.argv[2] ?? '{}') as WorkerInit;
const side = makeSide(init.broker, init.side, init.url, { concurrency: init.concurrency, partitions: init.partitions, rawEnvelope: init.rawEnvelope });

const send = (message: FromWorker) => process.send?.(message);
const rssKiB = () => Math.round(process.memoryUsage.rss() / 1024);

/**
 * Peak RSS of this process image. Not `process.resourceUsage().maxRSS`: on Linux ru_maxrss survives
 * exec, so a forked child would report the parent's RSS at fork time when that was higher.
 * VmHWM (/proc/self/status) belongs to the current address space; elsewhere, sample.
 */
let sampledPeakKiB = rssKiB();
const sampler = setInterval(() => (sampledPeakKiB = Math.max(sampledPeakKiB, rssKiB())), 20);
sampler.unref();
function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // Not Linux.
  }
  return Math.max(sampledPeakKiB, rssKiB());
}
const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Resolves when `isDone()` after a delivery, or when the timeout expires (result says which). */
function completion(timeoutMs: number): { wake: () => void; done: Promise<boolean> } {
  let wake!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<boolean>((resolve) => {
    wake = () => resolve(false);
    timer = setTimeout(() => resolve(true), timeoutMs);
  }).finally(() => clearTimeout(timer));
  return { wake, done };
}

async function consume(command: Extract<ToWorker, { cmd: 'consume' }>): Promise<ConsumeResult> {
  const { count } = command;
  const seen = new Uint8Array(count);
  let received = 0;
  let duplicates = 0;
  let first = 0;
  let last = 0;
  const finished = completion(command.timeoutMs);
  const idleRssKiB = rssKiB();
  const subscribedAt = nowUs();
  const cpu = process.cpuUsage();
  let probed = false;
  const onBody = (body: BenchBody) => {
    const now = nowUs();
    if (body.seq < 0) {
      if (command.live && body.seq === -2 && !probed) {
        probed = true;
        send({ ev: 'probe' });
      }
      return;
    }
    if (first === 0) first = now;
    if (body.seq >= count) return;
    if (seen[body.seq]) {
      duplicates += 1;
      return;
    }
    seen[body.seq] = 1;
    received += 1;
    last = now;
    if (received === count) finished.wake();
  };
  let consumer: Consumer | undefined;
  try {
    consumer = await side.consume(command.target, init.concurrency, onBody);
    if (command.live) send({ ev: 'subscribed' });
    const timedOut = await finished.done;
    const seconds = (last - first) / 1e6;
    const used = process.cpuUsage(cpu);
    return {
      cpuUsPerMsg: (used.user + used.system) / Math.max(1, received),
      received,
      duplicates,
      seconds,
      msgsPerSec: seconds > 0 ? (received - 1) / seconds : 0,
      wallSeconds: (last - subscribedAt) / 1e6,
      peakRssKiB: peakRssKiB(),
      idleRssKiB,
      timedOut,
    };
  } finally {
    await consumer?.close();
  }
}

async function latency(command: Extract<ToWorker, { cmd: 'latency' }>): Promise<LatencyResult> {
  const { count, warmup } = command;
  const micros = new Float64Array(count).fill(Number.NaN);
  let received = 0;
  let duplicates = 0;
  let backlog = 0;
  let probed = false;
  const finished = completion(command.timeoutMs);
  const onBody = (body: BenchBody) => {
    const now = nowUs();
    if (body.seq < 0) {
      if (body.seq === -1) backlog += 1;
      if (!probed && body.seq === -2 && backlog >= command.backlog) {
        probed = true;
        send({ ev: 'probe' });
      }
      return;
    }
    if (body.seq >= count) return;
    if (!Number.isNaN(micros[body.seq])) {
      duplicates += 1;
      return;
    }
    micros[body.seq] = now - body.sentAt;
    received += 1;
    if (received === count) finished.wake();
  };
  let consumer: Consumer | undefined;
  try {
    consumer = await side.consume(command.target, init.concurrency, onBody);
    send({ ev: 'subscribed' });
    const timedOut = await finished.done;
    const measured = [...micros.subarray(warmup)].filter((v) => !Number.isNaN(v));
    return { received, duplicates, summary: summarizeLatencies(measured), timedOut };
  } finally {
    await consumer?.close();
  }
}

let queue = Promise.resolve();
process.on('message', (message: ToWorker) => {
  queue = queue.then(async () => {
    try {
      if (message.cmd === 'consume') send({ ev: 'consumed', result: await consume(message) });
      else if (message.cmd === 'latency') send({ ev: 'latency', result: await latency(message) });
      else if (message.cmd === 'exit') {
        await side.close().catch(() => {});
        process.disconnect?.();
        process.exit(0);
      }
    } catch (error) {
      send({ ev: 'error', message: errorText(error) });
    }
  });
});
process.on('disconnect', () => process.exit(0));

try {
  await side.connect();
  send({ ev: 'ready', rssKiB: rssKiB() });
} catch (error) {
  process.send?.({ ev: 'error', message: errorText(error) } satisfies FromWorker, () => process.exit(1));
}
