// The worker's HTTP face: GET /healthz for a Kubernetes probe, GET /metrics for Prometheus, and
// POST /orders to put an order on the bus (so the demo has traffic on memory:// too, where no
// other process can publish).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isOmnibusError, type BusHealth } from '@omnibus/core';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

export interface Endpoints {
  health(): BusHealth;
  readonly prometheus: PrometheusExporter;
  /** Publish an order; resolves with its message id once the broker accepted it. */
  publishOrder(body: unknown): Promise<string>;
}

const MAX_BODY_BYTES = 64 * 1024;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY_BYTES) throw new Error('body too large');
  }
  return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
}

export function createEndpoints(endpoints: Endpoints): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/healthz') {
      // Ready: connected and no subscription stalled. 503 tells the probe to take the pod out.
      const health = endpoints.health();
      sendJson(res, health.ready ? 200 : 503, health);
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      endpoints.prometheus.getMetricsRequestHandler(req, res);
      return;
    }
    if (req.method === 'POST' && path === '/orders') {
      readJson(req)
        .then((body) => endpoints.publishOrder(body))
        .then(
          (id) => sendJson(res, 202, { id }),
          // 400: not JSON, or a body the topic's schema refuses; 503: the broker did not accept it.
          (error: unknown) => {
            const badRequest = error instanceof SyntaxError || isOmnibusError(error, 'VALIDATION_FAILED') || (error instanceof Error && error.message === 'body too large');
            sendJson(res, badRequest ? 400 : 503, { error: error instanceof Error ? error.message : String(error) });
          },
        );
      return;
    }
    sendJson(res, 404, { error: `no route for ${req.method ?? '?'} ${path}` });
  });
}
