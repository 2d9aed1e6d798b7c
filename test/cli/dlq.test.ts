// `omnibus dlq` against every real broker, run as a user runs it (the bin as a child process): a
// service's group dead-letters 500 orders (and another group 5 more, for the filters, which
// `tail --group` follows as they come); list shows
// them with their reason, the filters narrow them, show gives one in full; a replay is interrupted
// with Ctrl-C, then SIGKILLed halfway, then run again: the fixed handler ends up with every order at
// least once and no dead letter of that group is left; purge --yes deletes the rest and reads
// nothing else.
// The four brokers run side by side (one test each, its steps in order), to stay within the time
// test/cli has in CI.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BROKER_KINDS, describeWithBroker } from '@omnibus/test-support';
import { deadLetterTopicOf, defineTopic, NonRetryableError, readDeadLetter, Signal, type Bus, type Subscription } from '@omnibus/core';
import { cliBroker, type CliBroker } from './cli-broker.js';
import { runCli, startCli, type CliResult } from './run-cli.js';

// As the issue asks: 1,000 dead letters per broker (the four brokers side by side take about 44 s).
const ORDERS = 1_000;
const REVIEWS = 5;

interface ListOutput {
  readonly count: number;
  readonly complete: boolean;
  readonly deadLetters: readonly { id: string; group?: string; reason?: string; originalTopic?: string; error?: { name: string; message: string } }[];
}

/** The JSON a command printed, once it exited 0 (else its stderr says why). */
function json<T>(result: CliResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

/** The service: group billing dead-letters every order until `fixed`, group audit dead-letters 5 for review. */
class Service {
  fixed = false;
  readonly handled = new Set<string>();
  readonly deadLettered: { id: string; group: string }[] = [];
  readonly changed = new Signal();
  ids: string[] = [];
  private audit: Subscription | undefined;

  private constructor(
    readonly bus: Bus,
    readonly topic: string,
  ) {}

  static async create(broker: CliBroker): Promise<Service> {
    return new Service(await broker.openBus(), `orders-${randomBytes(3).toString('hex')}`);
  }

  async run(): Promise<void> {
    const orders = defineTopic(this.topic, z.object({ n: z.number().int() }));
    // A group of the test's own on the dead-letter topic, to know when all dead letters are there.
    await this.bus.subscribe(
      deadLetterTopicOf(orders),
      (message) => {
        this.deadLettered.push({ id: message.id, group: readDeadLetter(message)?.group ?? '?' });
        this.changed.notify();
      },
      { group: 'watch', concurrency: 64 },
    );
    await this.bus.subscribe(
      orders,
      (message) => {
        if (!this.fixed) throw new NonRetryableError('card declined');
        this.handled.add(message.id);
        this.changed.notify();
      },
      { group: 'billing', concurrency: 32 },
    );
    this.audit = await this.bus.subscribe(
      orders,
      (message, context) => {
        if (message.body.n < REVIEWS) context.deadLetter('needs review');
      },
      { group: 'audit', concurrency: 32 },
    );
    this.ids = await this.bus.publishBatch(
      orders,
      Array.from({ length: ORDERS }, (_, n) => ({ body: { n } })),
    );
    await this.changed.until(() => this.deadLettered.length >= ORDERS + REVIEWS, 60_000, () => `${ORDERS + REVIEWS} dead letters (have ${this.deadLettered.length})`);
    // Replays go to the original topic, so every group gets them again: audit is done with them.
    await this.audit.close();
  }

  async until(check: () => boolean, what: () => string, timeoutMs = 30_000): Promise<void> {
    await this.changed.until(check, timeoutMs, what);
  }
}

describe.concurrent('omnibus dlq', () => {
  for (const kind of BROKER_KINDS) {
    describeWithBroker(kind, `omnibus dlq on ${kind}`, (endpoint) => {
      const broker = cliBroker(endpoint, 'dlq');
      let service: Service | undefined;
      const dlq = (...args: string[]) => runCli([...broker.globalArgs, 'dlq', ...args], { timeoutMs: 60_000 });

      afterAll(async () => {
        await service?.bus.close();
        await broker.cleanup();
      });

      it('lists, filters and shows dead letters; a replay interrupted, then killed, then run again loses none; purge --yes deletes the rest', { timeout: 150_000 }, async () => {
        service = await Service.create(broker);
        const { topic } = service;

        // tail --group follows what one group dead-letters, from before the service starts.
        const tail = startCli([...broker.globalArgs, 'tail', topic, '--group', 'audit', '--limit', String(REVIEWS), '--json'], { timeoutMs: 90_000 });
        await tail.waitFor(/tailing \S+\.dlq with temporary group/);
        await service.run();
        const tailed = await tail.done;
        expect(tailed.code, tailed.stderr).toBe(0);
        const reviewed = tailed.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { deadLetter: { group: string; reason: string; originalTopic: string } });
        expect(reviewed.map((m) => [m.deadLetter.group, m.deadLetter.reason, m.deadLetter.originalTopic])).toEqual(Array(REVIEWS).fill(['audit', 'explicit', topic]));

        // list: every dead letter, with its group and reason, and nothing consumed.
        const all = await dlq('list', topic, '--json', '--wait', '10000', '--idle', '1500');
        const listed = json<ListOutput>(all);
        expect(listed.count).toBe(ORDERS + REVIEWS);
        const billing = listed.deadLetters.filter((l) => l.group === 'billing');
        expect(billing).toHaveLength(ORDERS);
        expect(new Set(billing.map((l) => l.id))).toEqual(new Set(service.ids));
        expect(billing.every((l) => l.reason === 'non-retryable' && l.error?.message === 'card declined' && l.originalTopic === topic)).toBe(true);
        expect(listed.deadLetters.filter((l) => l.group === 'audit').every((l) => l.reason === 'explicit')).toBe(true);
        expect(all.stderr).toMatch(new RegExp(`${ORDERS + REVIEWS} dead letters in ${topic}\\.dlq`));

        // filters: --group, --reason, --since and --limit together: 3 of the 5 audit ones.
        const reviews = json<ListOutput>(await dlq('list', topic, '--json', '--group', 'audit', '--reason', 'explicit,invalid', '--since', '10m', '--limit', '3', '--idle', '1000'));
        expect(reviews.deadLetters.map((l) => [l.group, l.reason])).toEqual(Array(3).fill(['audit', 'explicit']));

        // show: one dead letter in full.
        const id = service.ids[7] as string;
        const shown = await dlq('show', topic, id, '--json', '--idle', '1000');
        expect(shown.code, shown.stderr).toBe(0);
        const [letter] = (JSON.parse(shown.stdout) as { deadLetters: { id: string; group: string; reason: string; error: { stack: string }; headers: Record<string, string>; body: unknown }[] }).deadLetters.filter((l) => l.group === 'billing');
        expect(letter).toMatchObject({ id, reason: 'non-retryable', body: { json: { n: 7 } }, headers: { 'omnibus-dlq-original-topic': topic, 'omnibus-dlq-error-message': 'card declined' } });
        expect(letter?.error.stack).toMatch(/NonRetryableError: card declined/);

        // dry run: what would be replayed, nothing changed (the lists below still find them).
        const dry = await dlq('replay', topic, '--group', 'billing', '--dry-run', '--json', '--idle', '1000');
        expect(dry.code, dry.stderr).toBe(0);
        expect((JSON.parse(dry.stdout) as { wouldReplay: unknown[] }).wouldReplay).toHaveLength(ORDERS);
        expect(service.handled.size).toBe(0);

        // The bug is fixed. A replay interrupted with Ctrl-C after 60 stops cleanly, exit code 1.
        service.fixed = true;
        const paced = ['replay', topic, '--group', 'billing', '--rate', '150', '--wait', '10000', '--idle', '2000'];
        const first = startCli([...broker.globalArgs, 'dlq', ...paced]);
        await service.until(() => service!.handled.size >= 60, () => `60 orders replayed (have ${service!.handled.size})`);
        first.interrupt();
        const interrupted = await first.done;
        expect(interrupted.code, interrupted.stderr).toBe(1);
        expect(interrupted.stderr).toMatch(/interrupted: the dead letters not replayed yet are still in .*run the same command again/);

        // Then one SIGKILLed halfway: no handler, no cleanup.
        const before = service.handled.size;
        const second = startCli([...broker.globalArgs, 'dlq', ...paced]);
        await service.until(() => service!.handled.size >= before + 60, () => `60 more orders replayed (have ${service!.handled.size})`);
        second.kill();
        expect((await second.done).signal).toBe('SIGKILL');
        expect(service.handled.size, 'the kill came before the replay was done').toBeLessThan(ORDERS);

        // Run again: every order reaches the fixed handler, and no dead letter of billing is left.
        const last = await dlq('replay', topic, '--group', 'billing', '--wait', '15000', '--idle', '2000');
        expect(last.code, last.stderr).toBe(0);
        await service.until(() => service!.ids.every((i) => service!.handled.has(i)), () => `every order handled (have ${service!.handled.size} of ${ORDERS})`);

        // purge --yes: exactly the audit ones, for good; it read nothing else, so no dead letter of
        // billing was left by the replays.
        const purged = await dlq('purge', topic, '--yes', '--group', 'audit', '--json', '--idle', '1000');
        expect(json(purged)).toMatchObject({ purged: REVIEWS, kept: 0 });
      });
    });
  }
});
