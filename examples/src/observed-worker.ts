/**
 * An observed worker: consumes orders and exposes what an operator needs, on one HTTP port:
 *   GET  /healthz   bus.health() as JSON: 200 when ready, 503 otherwise (a readiness probe)
 *   GET  /metrics   Prometheus text: the messaging metrics of @omnibus/opentelemetry
 *   POST /orders    publish an order (JSON body, optional) to give the demo traffic
 * and prints every span (send, create, process) to stdout with ConsoleSpanExporter.
 *
 *   npm run worker -w examples                                   # memory://, port 9464
 *   npm run worker -w examples -- --url redis://127.0.0.1:6379   # or BROKER_URL=...
 *   npm run worker -w examples -- --url nats://127.0.0.1:4222 --options '{"publishTimeoutMs":5000}'
 *   curl -X POST localhost:9464/orders; curl localhost:9464/metrics; curl localhost:9464/healthz
 */
import { parseArgs } from 'node:util';
import type { AddressInfo } from 'node:net';
import { createBus, defineTopic, redactUrl } from '@omnibus/core';
import { openTelemetry } from '@omnibus/opentelemetry';
import { createEndpoints } from './observed/http.js';
import { startTelemetry } from './observed/telemetry.js';
import { OrderBody } from './topics.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    topic: { type: 'string' },
    group: { type: 'string' },
    options: { type: 'string' },
  },
  strict: true,
});
const url = values.url ?? process.env.BROKER_URL ?? 'memory://';
// 9464 is Prometheus' registered port for OpenTelemetry exporters; 0 picks a free one.
const port = Number(values.port ?? process.env.PORT ?? 9464);
const host = values.host ?? process.env.HOST ?? '127.0.0.1';
const topic = defineTopic(values.topic ?? 'orders.placed', OrderBody);
const group = values.group ?? 'observed-worker';
// Transport options as JSON (the transport validates them: an unknown key is a ConfigError naming it).
const options = JSON.parse(values.options ?? process.env.BROKER_OPTIONS ?? '{}') as Record<string, unknown>;

// The SDK first: the metrics API has no late-binding proxy, so the meter provider must exist
// before openTelemetry() is called (see packages/opentelemetry/README.md).
const telemetry = startTelemetry('omnibus-observed-worker');
const bus = await createBus({ url, options, source: 'omnibus-observed-worker', middleware: [openTelemetry({ meterProvider: telemetry.meterProvider })] });

await bus.subscribe(
  topic,
  async (msg) => {
    console.log(`worker: order ${msg.body.orderId} (${msg.body.total} €), attempt ${msg.attempt}`);
  },
  { group, concurrency: 8 },
);

let orders = 0;
const server = createEndpoints({
  health: () => bus.health(),
  prometheus: telemetry.prometheus,
  async publishOrder(body) {
    orders += 1;
    const order = { orderId: `order-${Date.now().toString(36)}-${orders}`, email: 'ada@example.com', total: 42, ...(typeof body === 'object' && body !== null ? body : {}) };
    return bus.publish(topic, order);
  },
});
await new Promise<void>((resolve) => server.listen(port, host, resolve));
const address = server.address() as AddressInfo;
console.log(`observed worker on ${redactUrl(url)}, topic ${topic.name}, group ${group}: listening on http://${host}:${address.port}`);

// SIGTERM (Kubernetes) or Ctrl-C: stop taking requests, drain the handlers, flush telemetry.
let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: draining`);
  server.close();
  await bus.close();
  await telemetry.shutdown();
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
