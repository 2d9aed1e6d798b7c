// A publisher or a consumer in its own process, traced with the OpenTelemetry SDK, for
// trace-two-processes.test.ts. Nothing passes between the two but the broker: trace context
// travels in the message headers only.
//   node --import tsx --conditions=@omnibus/source trace-child.ts
// Configuration in OMNIBUS_OTEL_CHILD (JSON, ChildConfig). Reports over IPC (ChildReport): every
// span as it ends, then 'published' (publisher) or 'ready' (consumer); a consumer answers
// 'metrics' with what the SDK's metric reader collected and 'close' by closing its bus.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { createBus, defineTopic, loadTransportModule, type Logger } from '@omnibus/core';
import { openTelemetry } from '@omnibus/opentelemetry';
import { spanRecord, TestTelemetry } from '../../packages/opentelemetry/test/telemetry-fixture.js';
import { Job, OK_KEY, type ChildConfig, type ChildReport } from './trace-scenario.js';

const send = (report: ChildReport) => process.send?.(report);

const log =
  (level: string) =>
  (fields: unknown, message?: string): void => {
    process.stderr.write(`[trace-child ${process.pid} ${level}] ${message ?? ''} ${typeof fields === 'string' ? fields : JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}\n`);
  };
const logger: Logger = { debug: () => {}, info: () => {}, warn: log('warn'), error: log('error') };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OMNIBUS_OTEL_CHILD ?? '{}') as ChildConfig;
  // What an application does with the Node SDK: global provider, propagator and context manager.
  const telemetry = new TestTelemetry((span) => send({ type: 'span', span: spanRecord(span) }));
  trace.setGlobalTracerProvider(telemetry.tracerProvider);
  metrics.setGlobalMeterProvider(telemetry.meterProvider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

  const module = await loadTransportModule(config.transport);
  const transport = module.createTransport({ url: config.url, options: config.options, logger });
  const bus = await createBus({ transport, logger, drainTimeoutMs: 5_000, middleware: [openTelemetry()] });
  const topic = defineTopic(config.topic, Job);

  if (config.role === 'publisher') {
    const tracer = trace.getTracer('checkout-service');
    const ids = await tracer.startActiveSpan('checkout', async (span) => {
      const ok = await bus.publish(topic, { kind: 'ok' }, { key: OK_KEY });
      const fail = await bus.publish(topic, { kind: 'fail' });
      span.end();
      return { ok, fail };
    });
    await bus.close();
    send({ type: 'published', ...ids });
    process.disconnect?.();
    return;
  }

  await bus.subscribe(
    topic,
    (message) => {
      if (message.body.kind === 'fail') throw new Error('this job always fails');
    },
    { group: config.group, retry: { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 50 } } },
  );
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'metrics') void telemetry.metrics().then((collected) => send({ type: 'metrics', metrics: collected }));
    if (message.type === 'close') {
      void bus.close().then(() => {
        send({ type: 'closed' });
        process.disconnect?.();
      });
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.stderr.write(`[trace-child ${process.pid}] failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
  process.disconnect?.();
});
