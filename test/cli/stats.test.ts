// `omnibus stats` against every real broker, as a user runs it: the depth of a group with no
// consumer, as JSON and as a table (repeated with --watch until Ctrl-C), where the transport can inspect (bus.inspect); where it cannot,
// exit 1 with a message that says so. The four brokers run side by side.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rawTopic, type Bus, type TopicInspection } from '@omnibus/core';
import { BROKER_KINDS, describeWithBroker } from '@omnibus/test-support';
import { cliBroker } from './cli-broker.js';
import { runCli, startCli } from './run-cli.js';

describe.concurrent('omnibus stats', () => {
  for (const kind of BROKER_KINDS) {
    describeWithBroker(kind, `omnibus stats on ${kind}`, (endpoint) => {
      const broker = cliBroker(endpoint, 'stats');
      let bus: Bus | undefined;

      afterAll(async () => {
        await bus?.close();
        await broker.cleanup();
      });

      it('shows the depth of a group with no consumer (or says the transport cannot)', { timeout: 60_000 }, async () => {
        const topic = `stock-${randomBytes(3).toString('hex')}`;
        bus = await broker.openBus();
        await bus.ensureGroup(topic, 'idle');
        await bus.publishBatch(rawTopic(topic), [1, 2, 3].map((n) => ({ body: Buffer.from(String(n)) })));

        const json = await runCli([...broker.globalArgs, 'stats', topic, '--group', 'idle', '--json']);
        if (typeof bus.transport.inspect !== 'function') {
          expect(json.code).toBe(1);
          expect(json.stderr).toContain(`stats: the ${kind} transport cannot report depth and lag (it does not implement Transport.inspect)`);
          return;
        }
        expect(json.code, json.stderr).toBe(0);
        const report = JSON.parse(json.stdout) as { transport: string; topics: (Omit<TopicInspection, 'readAt'> & { readAt: string })[] };
        expect(report.transport).toBe(kind);
        const idle = report.topics[0]?.groups.find((g) => g.group === 'idle');
        // Waiting is the depth; a log broker may only measure it as lag.
        expect(idle?.waiting?.value ?? idle?.lag?.value, JSON.stringify(report)).toBe(3);

        // The table, again every 200 ms with --watch, until Ctrl-C.
        const watch = startCli([...broker.globalArgs, 'stats', topic, '--watch', '200']);
        await watch.waitFor(/^TOPIC(?:.|\n)*^TOPIC/m, 'stdout');
        watch.interrupt();
        const watched = await watch.done;
        expect(watched.code, watched.stderr).toBe(0);
        expect(watched.stdout).toMatch(/^TOPIC\s+GROUP\s+WAITING\s+IN-FLIGHT\s+RETRYING\s+LAG\s+DELAYED\s+DEAD-LETTERED$/m);
        const row = watched.stdout.split('\n').find((line) => line.startsWith(`${topic} `) && line.includes(' idle '));
        expect(row, watched.stdout).toMatch(/ ~?3 /);
      });
    });
  }
});
