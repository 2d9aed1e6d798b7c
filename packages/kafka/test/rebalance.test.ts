import { afterAll, afterEach, expect, it } from 'vitest';
import { Signal, type Delivery, type Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, type RecordingLogger, recordingLogger } from '@omnibus/test-support';
import type { KafkaDriverName } from '../src/index.js';
import { body, commitsOf, isAssignment, isCommit, makeTransport, testDriver, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('rebalance');
const TOTAL = 600;

/** Every partition a member committed was assigned to it in the assignment the commit was issued under. */
function commitsOutsideAssignment(logger: RecordingLogger): string[] {
  const assignments = new Map<number, Set<string>>();
  for (const entry of logger.entries.filter(isAssignment)) assignments.set(entry.fields.epoch as number, new Set(entry.fields.partitions as string[]));
  return logger.entries
    .filter(isCommit)
    .flatMap((entry) => commitsOf(entry).map((c) => ({ epoch: entry.fields.epoch as number, id: `${c.topic}:${c.partition}` })))
    .filter(({ epoch, id }) => !assignments.get(epoch)?.has(id))
    .map(({ epoch, id }) => `${id} in assignment ${epoch}`);
}

describeWithBroker('kafka', 'kafka transport: rebalances', (endpoint) => {
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  // The same driver twice, and a group with a member on each driver (a fleet switching drivers one process at a time).
  const pairs: readonly (readonly [string, KafkaDriverName, KafkaDriverName])[] = [
    ['', testDriver, testDriver],
    [' (a kafkajs member, then a platformatic one)', 'kafkajs', 'platformatic'],
  ];
  it.each(pairs)('loses nothing when a second member joins mid-stream, and never commits a revoked partition%s', async (_, firstDriver, secondDriver) => {
    const topic = unique('join');
    const loggers = [recordingLogger(), recordingLogger()] as const;
    const drivers = [firstDriver, secondDriver] as const;
    const [first, second] = loggers.map((logger, index) => makeTransport(endpoint.url, prefix, { partitions: 4, driver: drivers[index] }, logger)) as [Transport, Transport];
    open.push(first, second);

    const acked = new Set<string>();
    const seen: { member: number; id: string; attempt: number }[] = [];
    const progress = new Signal();
    const handler = (member: number) => (delivery: Delivery) => {
      seen.push({ member, id: delivery.message.id, attempt: delivery.attempt });
      // Keep a few deliveries in flight at any time, so the rebalance finds work under way.
      setTimeout(() => {
        void delivery.ack().then(() => {
          acked.add(delivery.message.id);
          progress.notify();
        });
      }, 2);
    };
    const subscribe = (transport: Transport, member: number) => transport.subscribe({ topic, group: 'workers', concurrency: 4, onDelivery: handler(member), onError: () => {} });

    const publish = async (from: number, to: number) => {
      for (let start = from; start < to; start += 50) {
        await first.publish(Array.from({ length: 50 }, (_, i) => ({ id: `m${start + i}`, topic, key: `k${(start + i) % 30}`, headers: {}, body: body(String(start + i)) })));
      }
    };
    await subscribe(first, 0);
    const publishing = publish(0, TOTAL / 2);
    await progress.until(() => acked.size >= 150, 30_000, () => `150 acks before the join (got ${acked.size})`);
    await subscribe(second, 1);
    await publishing;
    // The second half after the join (subscribe resolved with the second member's assignment), so the second member
    // surely gets some: published during the join, the first member could take everything before the rebalance ends.
    await publish(TOTAL / 2, TOTAL);
    await progress.until(() => acked.size >= TOTAL, 60_000, () => `${TOTAL} distinct acks (got ${acked.size})`);

    const missing = Array.from({ length: TOTAL }, (_, i) => `m${i}`).filter((id) => !acked.has(id));
    expect(missing).toEqual([]);
    // The join did move partitions: the second member got some, and worked on them.
    const secondAssignment = loggers[1].entries.filter(isAssignment).at(-1)?.fields.partitions as string[];
    expect(secondAssignment.length).toBeGreaterThan(0);
    expect(seen.some((s) => s.member === 1)).toBe(true);
    // The old owner never committed a partition outside the assignment it committed under.
    expect(commitsOutsideAssignment(loggers[0])).toEqual([]);
    expect(commitsOutsideAssignment(loggers[1])).toEqual([]);

    const duplicates = seen.length - new Set(seen.map((s) => s.id)).size;
    const redelivered = seen.filter((s) => s.attempt > 1).length;
    console.info(`[kafka rebalance] ${TOTAL} messages, ${seen.length} deliveries, ${duplicates} duplicate(s) across the rebalance, ${redelivered} marked attempt > 1`);
    expect(duplicates).toBeLessThan(TOTAL / 2);
  });
});
