// The observed-worker example as an operator meets it: a separate process, started by its command
// line, reached only over HTTP. An order posted to it is published, consumed and acked; then
// /healthz and /metrics must show it, and SIGTERM must drain and exit cleanly.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createBus } from '@omnibus/core';
import { cleanupAll, deleteRedisPrefix, describeWithBroker, spawnManaged, uniqueName, type ManagedProcess } from '@omnibus/test-support';
import { createEndpoints } from '../../examples/src/observed/http.js';
import { startTelemetry } from '../../examples/src/observed/telemetry.js';
import { cleanupPrefix } from '../../packages/amqp10/test/helpers.js';
import { deleteQueuesWithPrefix, testCredentials } from '../../packages/sqs/test/helpers.js';

const WORKER = fileURLToPath(new URL('../../examples/src/observed-worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

afterAll(() => cleanupAll());

async function startWorker(url: string, options: Record<string, unknown>): Promise<{ worker: ManagedProcess; base: string }> {
  const worker = await spawnManaged('observed-worker', process.execPath, ['--import', 'tsx', '--conditions=@omnibus/source', WORKER, '--url', url, '--port', '0', '--options', JSON.stringify(options)], { cwd: ROOT });
  await worker.waitForOutput(/listening on http:\/\/\S+/, 12_000);
  const base = /listening on (http:\/\/\S+)/.exec(worker.output())?.[1] as string;
  return { worker, base };
}

/** The value of the one sample of `name` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)));
  expect(lines.length, `${name} ${JSON.stringify(labels)} in:\n${text}`).toBeLessThanOrEqual(1);
  return lines[0] === undefined ? undefined : Number(lines[0].slice(lines[0].lastIndexOf(' ') + 1));
}

async function expectObservedWorker(url: string, system: string, options: Record<string, unknown> = {}): Promise<void> {
  const { worker, base } = await startWorker(url, options);
  try {
    const orderId = uniqueName('order');
    const posted = await fetch(`${base}/orders`, { method: 'POST', body: JSON.stringify({ orderId, total: 7 }) });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    // The process span is printed when the delivery was settled, after its metrics were recorded.
    await worker.waitForOutput(new RegExp(`'messaging\\.message\\.id': '${id}'[\\s\\S]*'omnibus\\.settlement\\.outcome': 'ack'`), 10_000);
    expect(worker.output()).toContain(`worker: order ${orderId} (7 €), attempt 1`);
    expect(worker.output()).toMatch(/name: 'send orders\.placed'/);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toBe('application/json');
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      live: true,
      ready: true,
      transport: { name: system, state: 'connected' },
      subscriptions: [{ topic: 'orders.placed', group: 'observed-worker', state: 'running', inFlight: 0 }],
    });

    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    const labels = { messaging_system: system, messaging_destination_name: 'orders.placed' };
    expect(sample(text, 'messaging_client_sent_messages_total', labels)).toBe(1);
    expect(sample(text, 'messaging_client_consumed_messages_total', { ...labels, messaging_consumer_group_name: 'observed-worker' })).toBe(1);
    expect(sample(text, 'messaging_process_duration_count', labels)).toBe(1);
    expect(sample(text, 'omnibus_consumer_in_flight', labels)).toBe(0);
  } finally {
    const exit = await worker.kill('SIGTERM', 10_000);
    expect(worker.output()).toContain('SIGTERM: draining');
    const secret = (options.credentials as { secretAccessKey?: string } | undefined)?.secretAccessKey;
    if (secret !== undefined) expect(worker.output()).not.toContain(secret);
    expect(exit).toEqual({ code: 0, signal: null });
  }
}

describe('example: observed worker', () => {
  it('serves /healthz and /metrics and prints the spans of an order on memory://', async () => {
    await expectObservedWorker('memory://', 'memory');
  }, 15_000);

  it('answers /healthz with 503 and the JSON report when the bus is not ready', async () => {
    const bus = await createBus('memory://');
    await bus.close();
    const telemetry = startTelemetry('observed-worker-test');
    const server = createEndpoints({ health: () => bus.health(), prometheus: telemetry.prometheus, publishOrder: () => Promise.reject(new Error('closed')) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({ status: 'unhealthy', live: false, ready: false, transport: { name: 'memory', state: 'closed' } });
    } finally {
      server.close();
      await telemetry.shutdown();
    }
  });
});

describeWithBroker('redis', 'example: observed worker on redis', (endpoint) => {
  const prefix = `${uniqueName('observed')}:`;
  afterAll(() => deleteRedisPrefix(endpoint.url, prefix));

  it('runs unchanged, by URL', async () => {
    await expectObservedWorker(endpoint.url, 'redis', { prefix });
  }, 15_000);
});

// Artemis and ElasticMQ: a prefix of its own (the worker's topic and group are fixed names), its
// addresses and queues removed afterwards; SQS' credentials among the options, as a user passes them.
describeWithBroker('amqp10', 'example: observed worker on amqp10', (endpoint) => {
  const prefix = `${uniqueName('observed')}.`;
  afterAll(() => cleanupPrefix(endpoint.url, prefix));

  it('runs unchanged, by URL', async () => {
    await expectObservedWorker(endpoint.url, 'amqp10', { prefix });
  }, 15_000);
});

describeWithBroker('sqs', 'example: observed worker on sqs', (endpoint) => {
  // SQS queue-name prefixes are at most 24 characters.
  const prefix = `obs-${randomBytes(4).toString('hex')}-`;
  afterAll(() => deleteQueuesWithPrefix(endpoint.url, prefix));

  it('runs unchanged, by URL, the credentials among the options', async () => {
    await expectObservedWorker(endpoint.url, 'sqs', { prefix, credentials: testCredentials });
  }, 20_000);
});
