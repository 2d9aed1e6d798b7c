// An OpenTelemetry SDK for tests: spans into the SDK's in-memory exporter, metrics through an
// on-demand reader, the W3C propagator, and a Signal notified on every ended span so tests wait
// for spans instead of sleeping. Used by the unit tests and by the observability child processes.
import type { Attributes, HrTime } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Signal } from '@omnibus/core';
import type { OpenTelemetryOptions } from '../src/index.js';

/** The SDK's metric reader contract, collecting only when asked (what the SDK's ManualReader does). */
class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** What the tests read of a span: plain data, also what a child process sends to its parent. */
export interface SpanRecord {
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Attributes;
  readonly events: readonly { readonly name: string; readonly attributes: Attributes }[];
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly status: { readonly code: number; readonly message?: string | undefined };
  readonly startMs: number;
  readonly endMs: number;
}

export function spanRecord(span: ReadableSpan): SpanRecord {
  const context = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    events: span.events.map((event) => ({ name: event.name, attributes: { ...(event.attributes ?? {}) } })),
    links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId })),
    status: { code: span.status.code, message: span.status.message },
    startMs: hrMs(span.startTime),
    endMs: hrMs(span.endTime),
  };
}

function hrMs(time: HrTime): number {
  return time[0] * 1_000 + time[1] / 1e6;
}

/** One data point of a metric, as plain data. */
export interface PointRecord {
  readonly attributes: Attributes;
  /** The sum (counters), or the count of recorded values (histograms). */
  readonly value: number;
}

export class TestTelemetry {
  readonly exporter = new InMemorySpanExporter();
  readonly reader = new OnDemandReader();
  readonly propagator = new W3CTraceContextPropagator();
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  private readonly signal = new Signal();

  constructor(onEnd?: (span: ReadableSpan) => void) {
    const notify: SpanProcessor = {
      onStart: () => {},
      onEnd: (span) => {
        onEnd?.(span);
        this.signal.notify();
      },
      forceFlush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
    this.tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.exporter), notify] });
    this.meterProvider = new MeterProvider({ readers: [this.reader] });
  }

  /** Options that send everything here (no global registration needed). */
  options(extra: OpenTelemetryOptions = {}): OpenTelemetryOptions {
    return { tracerProvider: this.tracerProvider, meterProvider: this.meterProvider, propagator: this.propagator, ...extra };
  }

  spans(): SpanRecord[] {
    return this.exporter.getFinishedSpans().map(spanRecord);
  }

  /** Resolves once the ended spans satisfy `check`; returns them. */
  async waitForSpans(check: (spans: SpanRecord[]) => boolean, what: string, timeoutMs = 10_000): Promise<SpanRecord[]> {
    await this.signal.until(() => check(this.spans()), timeoutMs, () => `${what} (spans so far: ${this.spans().map((s) => s.name).join(', ') || 'none'})`);
    return this.spans();
  }

  async metrics(): Promise<Record<string, PointRecord[]>> {
    const { resourceMetrics } = await this.reader.collect();
    const out: Record<string, PointRecord[]> = {};
    for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) out[metric.descriptor.name] = points(metric);
    return out;
  }

  async shutdown(): Promise<void> {
    await this.tracerProvider.shutdown();
    await this.meterProvider.shutdown();
  }
}

function points(metric: MetricData): PointRecord[] {
  return metric.dataPoints.map((point) => {
    const value = point.value as number | { count: number };
    return { attributes: { ...point.attributes }, value: typeof value === 'number' ? value : value.count };
  });
}

/** The total of a metric's points whose attributes include `match`. */
export function total(points: readonly PointRecord[] | undefined, match: Attributes = {}): number {
  return (points ?? []).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v)).reduce((sum, p) => sum + p.value, 0);
}
