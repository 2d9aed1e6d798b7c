// Issue 12, item 6: a burst of 200,000 unawaited bus.publish calls (1 KiB bodies) on every
// transport, each in a child process (burst-child.ts) so its peak RSS is its own. Every publish
// either resolves (and the group receives the message) or rejects with a typed OmnibusError
// that has a message; nothing escapes as an uncaught exception; peak RSS stays under 600 MiB.
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanUpKafka, describeWithBroker, deleteRedisPrefix, fastKafkaOptions, spawnManaged, type AvailableBroker } from '@omnibus/test-support';
import { deleteStreams } from '../../packages/nats/test/helpers.js';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';
import { REPORT_PREFIX, type BurstConfig, type BurstReport } from './burst-protocol.js';

const CHILD = join(import.meta.dirname, 'burst-child.ts');
const ROOT = resolve(import.meta.dirname, '..', '..');
const COUNT = 200_000;
const BODY_CHARS = 1024;
const MAX_PEAK_RSS_MIB = 600;
const MAX_OLD_SPACE_MIB = 384;
/**
 * memory:// keeps its broker in the child: the burst's backlog (up to 200,000 stored messages of
 * 1 KiB, with their headers) is the child's own memory there, which no client can bound.
 */
const MEMORY_MAX_PEAK_RSS_MIB = 1_024;
/** Per transport: publishing and consuming 200k, plus the child's start. */
const CHILD_TIMEOUT_MS = 150_000;

const run = randomBytes(3).toString('hex');

async function burst(config: Omit<BurstConfig, 'count' | 'bodyChars' | 'consumeTimeoutMs' | 'topic' | 'group'>): Promise<BurstReport> {
  const full: BurstConfig = { ...config, topic: `burst.${run}`, group: `burst-${run}`, count: COUNT, bodyChars: BODY_CHARS, consumeTimeoutMs: 60_000 };
  // A capped old space makes the garbage collector keep up instead of letting RSS grow while the
  // 24 GiB machine has room: what stays is the live set, which must be bounded. A live set over
  // the cap would crash the child, and fail the test.
  const child = await spawnManaged(`burst-child (${config.transport})`, process.execPath, [`--max-old-space-size=${MAX_OLD_SPACE_MIB}`, '--import', 'tsx', '--conditions=@omnibus/source', CHILD], {
    cwd: ROOT,
    env: { ...process.env, OMNIBUS_BURST_CHILD: JSON.stringify(full) },
  });
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([child.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), CHILD_TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (!exit) {
    await child.kill('SIGKILL');
    throw new Error(`the ${config.transport} burst did not finish within ${CHILD_TIMEOUT_MS} ms:\n${child.output(20)}`);
  }
  const line = child
    .output()
    .split('\n')
    .find((l) => l.startsWith(REPORT_PREFIX));
  if (exit.code !== 0 || !line) throw new Error(`the ${config.transport} burst child exited with ${exit.code ?? exit.signal}:\n${child.output(30)}`);
  const summary = child
    .output()
    .split('\n')
    .find((l) => l.startsWith('[burst] '));
  console.log(summary);
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as BurstReport;
}

function expectSound(report: BurstReport, maxPeakRssMiB = MAX_PEAK_RSS_MIB): void {
  expect(report.uncaught).toEqual([]);
  expect(report.published + report.rejected).toBe(COUNT);
  // Every rejection is an OmnibusError that says what happened.
  for (const kind of report.rejections) {
    expect(kind, `${kind.count} rejection(s): ${kind.name} ${kind.message}`).toMatchObject({ typed: true });
    expect(kind.message.trim().length, `${kind.count} rejection(s) of ${kind.name} without a message`).toBeGreaterThan(0);
  }
  // Every accepted message reached the group.
  expect(report.received).toBe(report.published);
  expect(report.peakRssMiB).toBeLessThan(maxPeakRssMiB);
}

const TIMEOUT = CHILD_TIMEOUT_MS + 30_000;

describe('burst of 200,000 unawaited publishes: memory', () => {
  it('delivers or rejects each one with a typed error, within 600 MiB', { timeout: TIMEOUT }, async () => {
    expectSound(await burst({ transport: 'memory', url: 'memory://', options: {} }), MEMORY_MAX_PEAK_RSS_MIB);
  });
});

describeWithBroker('rabbitmq', 'burst of 200,000 unawaited publishes: rabbitmq', (endpoint: AvailableBroker) => {
  const prefix = `burst-${run}.`;
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });
  it('delivers or rejects each one with a typed error, within 600 MiB', { timeout: TIMEOUT }, async () => {
    expectSound(await burst({ transport: 'rabbitmq', url: endpoint.url, options: { prefix } }));
  });
});

describeWithBroker('kafka', 'burst of 200,000 unawaited publishes: kafka', (endpoint: AvailableBroker) => {
  const prefix = `omnibus-burst-${run}.`;
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });
  it('delivers or rejects each one with a typed error, within 600 MiB', { timeout: TIMEOUT }, async () => {
    expectSound(await burst({ transport: 'kafka', url: endpoint.url, options: { prefix, ...fastKafkaOptions } }));
  });
});

describeWithBroker('redis', 'burst of 200,000 unawaited publishes: redis', (endpoint: AvailableBroker) => {
  const prefix = `omnibus-burst-${run}:`;
  afterAll(async () => {
    await deleteRedisPrefix(endpoint.url, prefix);
  });
  it('delivers or rejects each one with a typed error, within 600 MiB', { timeout: TIMEOUT }, async () => {
    expectSound(await burst({ transport: 'redis', url: endpoint.url, options: { prefix } }));
  });
});

describeWithBroker('nats', 'burst of 200,000 unawaited publishes: nats', (endpoint: AvailableBroker) => {
  const streamPrefix = `BURST_${run}`;
  afterAll(async () => {
    await deleteStreams(endpoint.url, streamPrefix);
  });
  it('delivers or rejects each one with a typed error, within 600 MiB', { timeout: TIMEOUT }, async () => {
    expectSound(await burst({ transport: 'nats', url: endpoint.url, options: { streamPrefix, subjectPrefix: `burst_${run}` } }));
  });
});
