/**
 * What every pattern example shares: opening a bus for a URL, run-unique names, timings and the
 * command-line entry. Nothing here is specific to one pattern.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createBus, redactUrl, type Bus, type BusConfig } from '@omnibus/core';

export type Print = (line: string) => void;

/**
 * Kafka's defaults suit long-lived services (30 s sessions, 500 ms long polls); a demo that opens
 * and closes a few groups in a second wants quick joins, fetches and commits. Every other
 * transport is used with its defaults.
 */
const DEMO_KAFKA_OPTIONS = {
  partitions: 3,
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 100,
  maxWaitTimeMs: 100,
  commitIntervalMs: 20,
  retryInitialDelayMs: 50,
  closeTimeoutMs: 5_000,
};

/** A bus for `url` (Kafka with the demo options above); `extra` adds config such as middleware. */
export function openBus(url: string, source: string, extra: Omit<BusConfig, 'url' | 'source' | 'options'> = {}): Promise<Bus> {
  const kafka = /^kafkas?:\/\//.test(url);
  return createBus({ ...extra, url, source, ...(kafka ? { options: DEMO_KAFKA_OPTIONS } : {}) });
}

/** A suffix unique to this run: topics and groups on a shared broker never meet another run's. */
export function runSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Milliseconds since `start` (a `performance.now()` reading), to 0.1 ms. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** The p-th percentile (0-100) of `values`, nearest rank; 0 for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** `12.3 ms`, for printed figures. */
export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

/** Simulated work (a slow email, a database write): the examples' only timers, never a wait for messages. */
export function work(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

/**
 * Remove the run's groups where that is cheap, so a shared broker does not collect a demo's
 * queues; best effort. Not on Kafka: deleting a group there also deletes its retry topic and waits
 * for the broker to finish (over a second per run), while the topics stay anyway (Omnibus deletes
 * no topic) and an empty group's offsets expire by themselves (offsets.retention.minutes).
 */
export async function deleteGroups(bus: Bus, groups: ReadonlyArray<readonly [topic: string, group: string]>): Promise<void> {
  if (!bus.transport.deleteGroup || bus.transport.name === 'kafka') return;
  await Promise.allSettled(groups.map(([topic, group]) => bus.deleteGroup(topic, group)));
}

/** The first line of every example: what runs where (credentials hidden). */
export function banner(print: Print, title: string, url: string): void {
  print(`${title} on ${redactUrl(url)}`);
}

/**
 * The command-line entry of an example module: run it on BROKER_URL (default memory://) when the
 * module is the script node was started with, print its lines, exit 0, or 1 on failure.
 */
export function runAsScript(moduleUrl: string, run: (url: string, print: Print) => Promise<unknown>): void {
  const script = process.argv[1];
  if (!script || moduleUrl !== pathToFileURL(script).href) return;
  run(process.env.BROKER_URL ?? 'memory://', (line) => console.log(line)).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
