// OpenTelemetry for the observed worker, set up by hand with the SDK's parts (what NodeSDK does,
// without its auto-instrumentations): spans printed by ConsoleSpanExporter, metrics kept for the
// Prometheus exporter to serve on our own /metrics, the W3C propagator for the message headers
// and the AsyncLocalStorage context manager, so the handler runs inside its `process` span.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Telemetry {
  readonly meterProvider: MeterProvider;
  /** Serves the Prometheus text format; mounted on the worker's own HTTP server. */
  readonly prometheus: PrometheusExporter;
  /** Flush what is left and unregister the globals. */
  shutdown(): Promise<void>;
}

export function startTelemetry(serviceName: string): Telemetry {
  const resource = resourceFromAttributes({ 'service.name': serviceName });
  // SimpleSpanProcessor prints each span as it ends: fine for a demo, too slow for production
  // (use a BatchSpanProcessor and an OTLP exporter there).
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
  // preventServerStart: the exporter would otherwise listen on its own port (9464); the worker
  // serves /metrics and /healthz on one port instead, through getMetricsRequestHandler.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  // The exporter pins @opentelemetry/sdk-metrics 2.12.0 (its own copy, next to the workspace's
  // 2.12.x): a reader only talks to the provider through the MetricReader contract, which is
  // the same in both.
  const meterProvider = new MeterProvider({ resource, readers: [prometheus] });

  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);

  return {
    meterProvider,
    prometheus,
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
    },
  };
}
