/**
 * (e) Pub/sub fan-out beside a point-to-point work queue, with the same API: what decides is the
 * group.
 * - Fan-out: `orders.created` has two groups, `billing` and `analytics`; each group gets every
 *   order.
 * - Work queue: `images.resize` has one group, `resizers`, with three competing workers; each job
 *   goes to one of them, so the three share the load.
 */
import { z } from 'zod';
import { Signal, defineTopic } from '@omnibus/core';
import { banner, deleteGroups, ms, openBus, runAsScript, runSuffix, since, work, type Print } from './shared.js';

const ORDERS = 10;
const JOBS = 12;
const WORKERS = 3;
const JOB_MS = 20;

export interface FanOutAndWorkQueueResult {
  readonly orders: number;
  /** Distinct orders each fan-out group received. */
  readonly billing: number;
  readonly analytics: number;
  readonly jobs: number;
  /** Distinct jobs handled, and how many each worker handled (deliveries). */
  readonly jobsHandled: number;
  readonly perWorker: readonly number[];
  /** Deliveries of a job already handled (at-least-once delivery). */
  readonly duplicateJobs: number;
  /** Publish of the first job to the last job done, against one worker doing them in turn. */
  readonly queueMs: number;
  readonly oneWorkerMs: number;
}

export async function runFanOutAndWorkQueue(url: string, print: Print): Promise<FanOutAndWorkQueueResult> {
  banner(print, `fan-out to two groups, and a work queue with ${WORKERS} competing workers`, url);
  const suffix = runSuffix();
  const OrderCreated = defineTopic(`orders.created.${suffix}`, z.object({ orderId: z.string(), total: z.number() }));
  const ResizeImage = defineTopic(`images.resize.${suffix}`, z.object({ jobId: z.string(), image: z.string(), width: z.number().int() }));
  await using bus = await openBus(url, 'omnibus-example-fan-out');
  const progress = new Signal();

  // Fan-out: one subscription per group, every group sees every order.
  const seen = { billing: new Set<string>(), analytics: new Set<string>() };
  const groups = await Promise.all(
    (['billing', 'analytics'] as const).map((group) =>
      bus.subscribe(
        OrderCreated,
        async (msg) => {
          seen[group].add(msg.body.orderId);
          progress.notify();
        },
        { group, concurrency: 4 },
      ),
    ),
  );

  // Work queue: three workers in one group compete for the jobs.
  const perWorker = Array.from({ length: WORKERS }, () => 0);
  const done = new Set<string>();
  let duplicateJobs = 0;
  const workers = [];
  for (let w = 0; w < WORKERS; w++) {
    workers.push(
      await bus.subscribe(
        ResizeImage,
        async (msg) => {
          await work(JOB_MS); // the resize itself
          perWorker[w] = (perWorker[w] as number) + 1;
          if (done.has(msg.body.jobId)) duplicateJobs += 1;
          done.add(msg.body.jobId);
          progress.notify();
        },
        { group: 'resizers', concurrency: 1 },
      ),
    );
  }

  await bus.publishBatch(
    OrderCreated,
    Array.from({ length: ORDERS }, (_, i) => ({ body: { orderId: `o-${i + 1}`, total: 10 * (i + 1) }, key: `o-${i + 1}` })),
  );
  const queueStart = performance.now();
  await bus.publishBatch(
    ResizeImage,
    Array.from({ length: JOBS }, (_, i) => ({ body: { jobId: `job-${i + 1}`, image: `photo-${i + 1}.jpg`, width: 640 }, key: `job-${i + 1}` })),
  );

  await progress.until(
    () => seen.billing.size >= ORDERS && seen.analytics.size >= ORDERS && done.size >= JOBS,
    30_000,
    () => `every order in both groups and ${JOBS} jobs done (billing ${seen.billing.size}, analytics ${seen.analytics.size}, jobs ${done.size})`,
  );
  const queueMs = since(queueStart);
  await Promise.all([...groups, ...workers].map((sub) => sub.close()));

  print(`  fan-out: ${ORDERS} orders published once; billing got ${seen.billing.size}, analytics got ${seen.analytics.size} (each group every order)`);
  print(`  work queue: ${JOBS} jobs, ${done.size} done, split ${perWorker.join(' / ')} across ${WORKERS} workers${duplicateJobs ? ` (${duplicateJobs} redelivered)` : ', each job once'}`);
  if (bus.transport.name === 'kafka') print('  (Kafka gives each worker whole partitions: the split follows how the job keys hash to them)');
  print(`  the queue took ${ms(queueMs)} with ${WORKERS} workers; one worker would need ${JOBS * JOB_MS} ms of work alone`);
  await deleteGroups(bus, [
    [OrderCreated.name, 'billing'],
    [OrderCreated.name, 'analytics'],
    [ResizeImage.name, 'resizers'],
  ]);
  return {
    orders: ORDERS,
    billing: seen.billing.size,
    analytics: seen.analytics.size,
    jobs: JOBS,
    jobsHandled: done.size,
    perWorker,
    duplicateJobs,
    queueMs,
    oneWorkerMs: JOBS * JOB_MS,
  };
}

runAsScript(import.meta.url, runFanOutAndWorkQueue);
