// `omnibus publish` and `omnibus tail` against every real broker, as a user runs them (the bin as
// child processes): a tail shows what is published after it started, with key and headers, and not
// what came before; publish takes JSON lines on stdin, --key, --header, --count and --delay, and with
// --topics rejects a batch holding one bad body (exit 1) without sending any of it; an existing group
// is not disturbed (it gets every message); the tail's temporary group is deleted on Ctrl-C where the
// transport can delete groups, and named otherwise. The four brokers run side by side.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rawTopic, Signal, type Bus } from '@omnibus/core';
import { BROKER_KINDS, describeWithBroker } from '@omnibus/test-support';
import { cliBroker } from './cli-broker.js';
import { runCli, startCli, TOPICS_FIXTURE } from './run-cli.js';

interface Tailed {
  readonly id: string;
  readonly key: string | null;
  readonly publishedAt: string;
  readonly headers: Record<string, string>;
  readonly body: { json?: { orderId?: string } };
  /** When this test saw the line (not printed by the tail). */
  seenAt: number;
}

const DELAY_MS = 1_500;

describe.concurrent('omnibus publish and tail', () => {
  for (const kind of BROKER_KINDS) {
    describeWithBroker(kind, `omnibus publish and tail on ${kind}`, (endpoint) => {
      const broker = cliBroker(endpoint, 'pub');
      let bus: Bus | undefined;

      afterAll(async () => {
        await bus?.close();
        await broker.cleanup();
      });

      it('tail shows new messages with key and headers, publish validates before sending and delays, existing groups keep everything, the temporary group goes', { timeout: 120_000 }, async () => {
        const topic = `orders-${randomBytes(3).toString('hex')}`;
        const env = { CLI_TEST_ORDERS_TOPIC: topic };
        const cli = (args: string[], stdin?: string) => runCli([...broker.globalArgs, ...args], { env, ...(stdin === undefined ? {} : { stdin }) });
        bus = await broker.openBus();
        const canDelete = typeof bus.transport.deleteGroup === 'function';
        const canInspect = typeof bus.transport.inspect === 'function';
        // A group that exists with no consumer running, and one message before the tail starts.
        await bus.ensureGroup(topic, 'existing');
        const [before] = await bus.publishBatch(rawTopic(topic), [{ body: Buffer.from(JSON.stringify({ orderId: 'before', amount: 1 })) }]);

        const tail = startCli([...broker.globalArgs, 'tail', topic, '--json'], { env, timeoutMs: 90_000 });
        await tail.waitFor(/tailing \S+ with temporary group omnibus-tail-[0-9a-f]+/);
        const group = /temporary group (omnibus-tail-[0-9a-f]+)/.exec(tail.stderr)?.[1] as string;
        const tailed: Tailed[] = [];
        const lines = new Signal();
        const collect = () => {
          const all = tail.stdout.split('\n').filter(Boolean);
          for (const line of all.slice(tailed.length)) tailed.push({ ...(JSON.parse(line) as Tailed), seenAt: Date.now() });
          lines.notify();
        };
        const poll = setInterval(collect, 20);
        let ids: string[] = [];
        let lateId: string | undefined;

        try {
          // One bad body in a batch: exit 1, and not even the good one before it is sent.
          const bad = await cli(['publish', topic, '--topics', TOPICS_FIXTURE, '--key', 'cust-7'], `${JSON.stringify({ orderId: 'bad-1', amount: 5 })}\n${JSON.stringify({ orderId: 'bad-2', amount: -5 })}\n`);
          expect(bad.code).toBe(1);
          expect(bad.stderr).toMatch(/body 2 of 2 does not match the schema .*amount.*nothing was sent/);

          // JSON lines on stdin, validated, each published twice, with a key and two headers.
          const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
          const good = await cli(
            ['publish', topic, '--topics', TOPICS_FIXTURE, '--key', 'cust-7', '--header', 'tenant=acme', '--header', `traceparent=${traceparent}`, '--count', '2'],
            `${JSON.stringify({ orderId: 'o-1', amount: 5 })}\n\n${JSON.stringify({ orderId: 'o-2', amount: 7, currency: 'USD' })}\n`,
          );
          expect(good.code, good.stderr).toBe(0);
          ids = good.stdout.split('\n').filter(Boolean);
          expect(ids).toHaveLength(4);
          expect(good.stderr).toMatch(new RegExp(`published 4 messages to ${topic}`));

          const late = await cli(['publish', topic, '--data', JSON.stringify({ orderId: 'late', amount: 3 }), '--delay', String(DELAY_MS), '--json']);
          expect(late.code, late.stderr).toBe(0);
          [lateId] = (JSON.parse(late.stdout) as { ids: string[] }).ids;

          await lines.until(() => tailed.length >= 5, 30_000, () => `5 messages tailed (have ${tailed.length}; stderr ${tail.stderr})`);
          const byId = new Map(tailed.map((m) => [m.id, m]));
          expect(new Set(byId.keys())).toEqual(new Set([...ids, lateId]));
          expect(tailed.map((m) => m.body.json?.orderId)).not.toContain('before');
          expect(tailed.map((m) => m.body.json?.orderId)).not.toContain('bad-1');
          for (const id of ids) expect(byId.get(id)).toMatchObject({ key: 'cust-7', headers: { tenant: 'acme', traceparent } });
          expect(tailed.filter((m) => ids.includes(m.id)).map((m) => m.body.json?.orderId).sort()).toEqual(['o-1', 'o-1', 'o-2', 'o-2']);
          const delayed = byId.get(lateId as string) as Tailed;
          expect(delayed.seenAt - Date.parse(delayed.publishedAt), 'the delayed message came no earlier than --delay').toBeGreaterThanOrEqual(DELAY_MS - 50);
        } finally {
          clearInterval(poll);
        }

        // Ctrl-C: the tail ends cleanly, and removes its group (or says it cannot, naming it).
        tail.interrupt();
        const ended = await tail.done;
        expect(ended.code, ended.stderr).toBe(0);
        if (canDelete) {
          expect(ended.stderr).toContain(`removed temporary group ${group}`);
        } else {
          expect(ended.stderr).toContain(`the ${kind} transport cannot delete a group: the temporary group ${group} of ${topic} stays on the broker`);
        }
        if (canDelete && canInspect) {
          const groups = (await bus.inspect(topic)).groups.map((g) => g.group);
          expect(groups).toContain('existing');
          expect(groups).not.toContain(group);
        }

        // The existing group was not disturbed: it gets every message published, before the tail too.
        const seen = new Set<string>();
        const got = new Signal();
        const existing = await bus.subscribe(
          rawTopic(topic),
          (message) => {
            seen.add(message.id);
            got.notify();
          },
          { group: 'existing' },
        );
        await got.until(() => seen.size >= 6, 30_000, () => `6 messages for the existing group (have ${seen.size})`);
        expect(seen).toEqual(new Set([before, ...ids, lateId]));
        await existing.close();
      });
    });
  }
});
