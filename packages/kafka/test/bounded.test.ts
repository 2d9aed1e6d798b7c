import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, isOmnibusError, Signal, silentLogger, type Bus } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker } from '@omnibus/test-support';
import { makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('bounded');
const Seat = z.object({ n: z.number() });

interface Outcomes {
  accepted: number;
  refused: number;
  other: unknown[];
}

/** Start every publish at once, from the buses in turn. */
async function race(buses: readonly Bus[], topic: ReturnType<typeof boundedTopic>, count: number): Promise<Outcomes> {
  const outcomes: Outcomes = { accepted: 0, refused: 0, other: [] };
  await Promise.all(
    Array.from({ length: count }, async (_, n) => {
      try {
        await (buses[n % buses.length] as Bus).publish(topic, { n });
        outcomes.accepted += 1;
      } catch (error) {
        if (isOmnibusError(error, 'QUEUE_FULL')) outcomes.refused += 1;
        else outcomes.other.push(error);
      }
    }),
  );
  return outcomes;
}

function boundedTopic(label: string, maxMessages: number) {
  return defineTopic(unique(label), Seat, { bound: { maxMessages, overflow: 'reject' } });
}

/** What group "sale" has not committed: with no consumer, every message the broker stored for it. */
async function lagOf(bus: Bus, topic: { readonly name: string }): Promise<number | undefined> {
  return (await bus.inspect(topic.name, 'sale')).groups[0]?.lag?.value;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** A publisher in its own process (test/fixtures/bounded-publisher.ts), started on a line written to its stdin. */
class PublisherProcess {
  readonly events: { event: string; [field: string]: unknown }[] = [];
  private readonly signal = new Signal();
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(env: Record<string, string>) {
    const script = fileURLToPath(new URL('./fixtures/bounded-publisher.ts', import.meta.url));
    // The source condition resolves @omnibus/* to their TypeScript sources, as the tests do.
    this.child = spawn(process.execPath, ['--conditions=@omnibus/source', '--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as { event: string });
      this.signal.notify();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.child.once('exit', () => this.signal.notify());
  }

  async waitFor(event: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    await this.signal.until(() => this.events.some((e) => e.event === event) || this.child.exitCode !== null, timeoutMs, () => `"${event}" from the publisher process (stderr: ${this.stderr.slice(-2_000)})`);
    const found = this.events.find((e) => e.event === event);
    if (!found) throw new Error(`the publisher process exited before "${event}": ${this.stderr.slice(-2_000)}`);
    return found;
  }

  go(): void {
    this.child.stdin!.write('go\n');
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describeWithBroker('kafka', 'kafka transport: bounded topics (emulated reject)', (endpoint) => {
  const buses: Bus[] = [];
  const children: PublisherProcess[] = [];
  const open = async (): Promise<Bus> => {
    const bus = await createBus({ transport: makeTransport(endpoint.url, prefix), logger: silentLogger });
    buses.push(bus);
    return bus;
  };
  afterEach(async () => {
    children.splice(0).forEach((child) => child.kill());
    await Promise.allSettled(buses.splice(0).map((bus) => bus.close({ timeoutMs: 2_000 })));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('one publisher: exactly the bound of 400 racing publishes is accepted, the rest refused and not stored', async () => {
    const topic = boundedTopic('one', 100);
    const bus = await open();
    await bus.ensureGroup(topic, 'sale');
    const outcomes = await race([bus], topic, 400);
    expect(outcomes).toEqual({ accepted: 100, refused: 300, other: [] });
    // What the broker keeps is what was accepted: the refused were never written.
    expect(await lagOf(bus, topic)).toBe(100);
  });

  it('four buses of one process share the check: exactly the bound is accepted', async () => {
    const topic = boundedTopic('buses', 100);
    const consumer = await open();
    await consumer.ensureGroup(topic, 'sale');
    const publishers = await Promise.all([open(), open(), open(), open()]);
    const outcomes = await race(publishers, topic, 400);
    expect(outcomes).toEqual({ accepted: 100, refused: 300, other: [] });
  });

  it('four processes: the overshoot is at most one publish per other process', async () => {
    const bound = 100;
    const topic = boundedTopic('processes', bound);
    const consumer = await open();
    await consumer.ensureGroup(topic, 'sale');
    for (let i = 0; i < 4; i += 1) {
      children.push(new PublisherProcess({ KAFKA_URL: endpoint.url, PREFIX: prefix, TOPIC: topic.name, BOUND: String(bound), COUNT: '100', FIRST: String(i * 100) }));
    }
    await Promise.all(children.map((child) => child.waitFor('ready')));
    children.forEach((child) => child.go());
    const done = await Promise.all(children.map((child) => child.waitFor('done')));
    expect(done.flatMap((d) => d.other as unknown[])).toEqual([]);
    const accepted = done.reduce((sum, d) => sum + (d.accepted as number), 0);
    const stored = await lagOf(consumer, topic);
    console.info(`kafka bounded topic, 4 processes x 100 publishes, bound ${bound}: accepted ${accepted} (overshoot ${accepted - bound}), per process ${done.map((d) => d.accepted as number).join('/')}`);
    expect(stored).toBe(accepted);
    expect(accepted).toBeGreaterThanOrEqual(bound);
    // Each process checks and sends one publish at a time: the others can miss one in flight each.
    expect(accepted - bound).toBeLessThanOrEqual(3);
  });

  it('counts delayed publishes waiting for a group, and costs a backlog read per publish', async () => {
    const bus = await open();
    const small = boundedTopic('delayed', 3);
    await bus.ensureGroup(small, 'sale');
    for (let n = 0; n < 3; n += 1) await bus.publish(small, { n }, { delayMs: 60_000 });
    await expect(bus.publish(small, { n: 3 })).rejects.toMatchObject({ code: 'QUEUE_FULL' });

    // Latency of one publish at a time, bounded (room left) against unbounded.
    const bounded = boundedTopic('latency', 1_000);
    const unbounded = defineTopic(unique('latency-free'), Seat);
    await bus.ensureGroup(bounded, 'sale');
    await bus.ensureGroup(unbounded, 'sale');
    const timings = { bounded: [] as number[], unbounded: [] as number[] };
    for (let n = 0; n < 40; n += 1) {
      let started = performance.now();
      await bus.publish(bounded, { n });
      timings.bounded.push(performance.now() - started);
      started = performance.now();
      await bus.publish(unbounded, { n });
      timings.unbounded.push(performance.now() - started);
    }
    console.info(`kafka publish latency, median of 40: bounded ${median(timings.bounded).toFixed(1)} ms, unbounded ${median(timings.unbounded).toFixed(1)} ms`);
    expect(await lagOf(bus, bounded)).toBe(40);
  });
});
