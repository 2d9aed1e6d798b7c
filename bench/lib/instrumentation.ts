// What the tracing-cost runs put on the bus. Three settings, measured against each other:
//   none:     no middleware: the bus as an application without @omnibus/opentelemetry runs it.
//             Nothing of the package runs, so this is the hot path "with instrumentation off".
//   api-only: openTelemetry() installed but no SDK registered: the API's no-op tracer and meter
//             (what a library gets when the application never set OpenTelemetry up).
//   sdk:      openTelemetry() with the OpenTelemetry SDK recording everything: every span sampled
//             (BasicTracerProvider, BatchSpanProcessor into an exporter that drops what it gets),
//             every metric recorded (a MeterProvider whose reader collects once, at the end), the
//             W3C propagator writing traceparent into every message, and the AsyncLocalStorage
//             context manager (so the handler runs inside its span, as with NodeSDK).
// The exporter does no serialization and no I/O: the figures are the cost inside the process
// before an OTLP exporter, which each deployment chooses, adds its own.
import { context, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Middleware } from '@omnibus/core';
import { openTelemetry } from '@omnibus/opentelemetry';

export const INSTRUMENTATIONS = ['none', 'api-only', 'sdk'] as const;
export type InstrumentationKind = (typeof INSTRUMENTATIONS)[number];

export const INSTRUMENTATION_LABELS: Readonly<Record<InstrumentationKind, string>> = {
  none: 'no middleware (instrumentation off)',
  'api-only': 'openTelemetry(), no SDK registered (API no-op)',
  sdk: 'openTelemetry() + SDK: traces and metrics on',
};

/** What the SDK recorded during a run: proof that the "on" side really traced and measured every message. */
export interface Recorded {
  readonly spans: number;
  /** Total of messaging.client.consumed.messages. */
  readonly consumed: number;
  /** Total of messaging.client.sent.messages. */
  readonly sent: number;
}

export interface Instrumentation {
  readonly kind: InstrumentationKind;
  readonly middleware: Middleware[];
  /** Flush and read what was recorded (undefined unless `sdk`), then remove everything this set up. */
  finish(): Promise<Recorded | undefined>;
}

/** Counts and drops: what an exporter costs before serialization and I/O (nothing). */
class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.spans += spans.length;
    resultCallback({ code: ExportResultCode.SUCCESS });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The SDK's reader contract, collecting only when asked (as the SDK's tests do). */
class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function totals(reader: MetricReader): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const out: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      out[metric.descriptor.name] = metric.dataPoints.reduce((sum, point: { value: unknown; attributes: Attributes }) => sum + (typeof point.value === 'number' ? point.value : 0), 0);
    }
  }
  return out;
}

export function instrument(kind: InstrumentationKind): Instrumentation {
  if (kind === 'none') return { kind, middleware: [], finish: () => Promise.resolve(undefined) };
  if (kind === 'api-only') return { kind, middleware: [openTelemetry()], finish: () => Promise.resolve(undefined) };

  // The context manager is global in the API; it is enabled only for this run and disabled after
  // it, so the other settings do not pay for AsyncLocalStorage's promise hook.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!context.setGlobalContextManager(contextManager)) throw new Error('a global OpenTelemetry context manager is already registered');
  const exporter = new CountingExporter();
  // A queue large enough that no span of a run is dropped (a dropped span costs less than an exported one).
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 1_000_000, maxExportBatchSize: 512 })] });
  const reader = new OnDemandReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const middleware = openTelemetry({ tracerProvider, meterProvider, propagator: new W3CTraceContextPropagator() });
  return {
    kind,
    middleware: [middleware],
    async finish() {
      try {
        await tracerProvider.forceFlush();
        const metrics = await totals(reader);
        return { spans: exporter.spans, consumed: metrics['messaging.client.consumed.messages'] ?? 0, sent: metrics['messaging.client.sent.messages'] ?? 0 };
      } finally {
        await tracerProvider.shutdown();
        await meterProvider.shutdown();
        context.disable();
      }
    },
  };
}
