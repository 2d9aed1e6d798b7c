// `omnibus asyncapi` as a user runs it, for every broker's URL scheme: the document passes the
// AsyncAPI parser's validation (no error diagnostics), has a channel per topic and per dead-letter
// topic with the payload's JSON Schema, servers with the AsyncAPI protocol name and without the
// URL's credentials, and the bindings AsyncAPI defines for the broker. No connection is made, so no
// broker is needed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, TOPICS_FIXTURE } from './run-cli.js';

const PASSWORD = 'S3cr/@:?#% ü-pw';
const parser = new Parser();
const dir = mkdtempSync(join(tmpdir(), 'omnibus-asyncapi-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CASES = [
  { kind: 'rabbitmq', url: `amqp://app:${PASSWORD}@rabbit.internal:5672/orders`, protocol: 'amqp', binding: 'amqp', address: 'orders.placed' },
  { kind: 'kafka', url: `kafka://app:${PASSWORD}@k1:9092,k2:9092`, protocol: 'kafka', binding: 'kafka', address: 'orders.placed' },
  { kind: 'redis', url: `redis://app:${PASSWORD}@cache:6379`, protocol: 'redis', binding: undefined, address: 'omnibus:topic:orders.placed' },
  { kind: 'nats', url: `nats://app:${PASSWORD}@nats:4222`, protocol: 'nats', binding: undefined, address: 'omnibus.orders.placed' },
] as const;

interface Channel {
  address: string;
  bindings?: Record<string, unknown>;
  messages: Record<string, { payload: { type?: string; properties?: Record<string, unknown>; required?: string[] } }>;
}

describe.concurrent('omnibus asyncapi', () => {
  it.each(CASES)('on $kind: valid AsyncAPI 3.0, servers without credentials, the broker bindings', async ({ kind, url, protocol, binding, address }) => {
    const out = join(dir, `${kind}.json`);
    const result = await runCli(['asyncapi', '--topics', TOPICS_FIXTURE, '--url', url, '--out', out, '--title', 'Orders'], { env: { CLI_TEST_ORDERS_TOPIC: 'orders.placed' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`wrote ${out}: 2 topics, 4 channels`));
    const text = readFileSync(out, 'utf8');
    for (const form of [PASSWORD, encodeURIComponent(PASSWORD), 'S3cr']) {
      expect(text).not.toContain(form);
      expect(result.stderr + result.stdout).not.toContain(form);
    }

    const { document, diagnostics } = await parser.parse(text);
    expect(diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');

    const json = JSON.parse(text) as { servers: Record<string, { host: string; protocol: string }>; channels: Record<string, Channel> };
    expect(Object.values(json.servers).map((s) => s.protocol)).toEqual(kind === 'kafka' ? ['kafka', 'kafka'] : [protocol]);
    const orders = json.channels.orders_placed as Channel;
    expect(orders.address).toBe(address);
    expect(json.channels['orders_placed_dlq']?.address).toBe(`${address}.dlq`);
    if (binding) expect(Object.keys(orders.bindings ?? {})).toEqual([binding]);
    else expect(orders.bindings).toBeUndefined();
    // The payload is the topic's input schema: what travels (currency has a default, so it may be missing).
    const payload = Object.values(orders.messages)[0]?.payload;
    expect(payload?.type).toBe('object');
    expect(payload?.required?.sort()).toEqual(['amount', 'orderId']);
    expect(Object.keys(payload?.properties ?? {}).sort()).toEqual(['amount', 'currency', 'lines', 'orderId']);
  });
});
