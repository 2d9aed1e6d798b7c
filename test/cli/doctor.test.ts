// `omnibus doctor` against every real broker: connected, the capabilities, and the broker with the
// version it reports (Kafka's protocol has none: its cluster is described instead). The four run side by side.
import { describe, expect, it } from 'vitest';
import { BROKER_KINDS, describeWithBroker } from '@omnibus/test-support';
import { cliBroker } from './cli-broker.js';
import { runCli } from './run-cli.js';

const PRODUCT = { rabbitmq: /RabbitMQ/, kafka: /Apache Kafka/, redis: /Redis|Valkey/, nats: /nats-server/ } as const;

describe.concurrent('omnibus doctor', () => {
  for (const kind of BROKER_KINDS) {
    describeWithBroker(kind, `omnibus doctor on ${kind}`, (endpoint) => {
      const broker = cliBroker(endpoint, 'doctor');

      it('prints the broker and its version, as JSON and as text', { timeout: 60_000 }, async () => {
        const json = await runCli([...broker.globalArgs, 'doctor', '--json']);
        expect(json.code, json.stderr).toBe(0);
        const report = JSON.parse(json.stdout) as { connected: boolean; transport: string; broker: { product: string; version?: string; details?: Record<string, string> } | null };
        expect(report.connected).toBe(true);
        expect(report.broker?.product).toMatch(PRODUCT[kind]);
        if (kind === 'kafka') expect(report.broker?.details?.clusterId).toMatch(/\S/);
        else expect(report.broker?.version).toMatch(/^\d+\.\d+/);

        const text = await runCli([...broker.globalArgs, 'doctor']);
        expect(text.code, text.stderr).toBe(0);
        expect(text.stdout).toMatch(new RegExp(`^broker: +${PRODUCT[kind].source}`, 'm'));
      });
    });
  }
});
