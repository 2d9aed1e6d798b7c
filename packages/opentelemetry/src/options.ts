import { defaultTextMapGetter, defaultTextMapSetter, metrics, propagation, trace, type Context, type Meter, type MeterProvider, type TextMapPropagator, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { ConfigError } from '@omnibus/core';
import { tracingSwitch } from './activity.js';
import { SCHEMA_URL } from './semconv.js';

/** How the consumer span relates to the producer's creation context (see the README). */
export const ConsumerParent = {
  /** Child of the creation context (one trace from publisher to consumer), with a link to it too. The default. */
  creationContext: 'creation-context',
  /** A new trace that only links to the creation context (the conventions' default for ambient-context consumers). */
  link: 'link',
} as const;
export type ConsumerParent = (typeof ConsumerParent)[keyof typeof ConsumerParent];

export interface OpenTelemetryOptions {
  /** Where spans go. Default: the global tracer provider (`trace.setGlobalTracerProvider`, or the SDK's `register()`). */
  readonly tracerProvider?: TracerProvider;
  /**
   * Where metrics go. Default: the global meter provider as it is when `openTelemetry()` is called
   * (register the SDK first: the metrics API has no late-binding proxy).
   */
  readonly meterProvider?: MeterProvider;
  /** How trace context is written to and read from message headers. Default: the global propagator. */
  readonly propagator?: TextMapPropagator;
  /** Default 'creation-context'. */
  readonly consumerParent?: ConsumerParent;
  /**
   * A "create" span per message of a batch publish, whose context goes into that message
   * (default true, as the conventions recommend). False: every message of a batch carries
   * the batch's "send" span context.
   */
  readonly batchCreateSpans?: boolean;
  /** Record what a handler threw (name, message and stack, cut to Omnibus' error budget) as an exception event. Default true. */
  readonly recordExceptions?: boolean;
}

export const INSTRUMENTATION_NAME = '@omnibus/opentelemetry';
export const INSTRUMENTATION_VERSION = '0.1.0';

/** Header access for the propagator: message headers are plain string records. */
export interface HeaderPropagation {
  inject(context: Context, headers: Record<string, string>): void;
  extract(context: Context, headers: Readonly<Record<string, string>>): Context;
}

export interface ResolvedOptions {
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly propagation: HeaderPropagation;
  readonly consumerParent: ConsumerParent;
  readonly batchCreateSpans: boolean;
  readonly recordExceptions: boolean;
  /** False while no SDK would record a span (see activity.ts). */
  readonly tracing: () => boolean;
}

const KNOWN = new Set(['tracerProvider', 'meterProvider', 'propagator', 'consumerParent', 'batchCreateSpans', 'recordExceptions']);

export function resolveOptions(options: OpenTelemetryOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'expected an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigError(`options.${key}`, `unknown option (known: ${[...KNOWN].join(', ')})`);
  }
  const { tracerProvider, meterProvider, propagator, consumerParent = ConsumerParent.creationContext, batchCreateSpans = true, recordExceptions = true } = options;
  if (tracerProvider !== undefined && typeof tracerProvider.getTracer !== 'function') throw new ConfigError('options.tracerProvider', 'expected a TracerProvider (an object with getTracer)');
  if (meterProvider !== undefined && typeof meterProvider.getMeter !== 'function') throw new ConfigError('options.meterProvider', 'expected a MeterProvider (an object with getMeter)');
  if (propagator !== undefined && (typeof propagator.inject !== 'function' || typeof propagator.extract !== 'function')) {
    throw new ConfigError('options.propagator', 'expected a TextMapPropagator (an object with inject and extract)');
  }
  if (!Object.values(ConsumerParent).includes(consumerParent)) throw new ConfigError('options.consumerParent', `expected one of ${Object.values(ConsumerParent).join(', ')}`);
  if (typeof batchCreateSpans !== 'boolean') throw new ConfigError('options.batchCreateSpans', 'expected a boolean');
  if (typeof recordExceptions !== 'boolean') throw new ConfigError('options.recordExceptions', 'expected a boolean');
  const scope = { schemaUrl: SCHEMA_URL };
  return {
    tracer: (tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, scope),
    meter: (meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, scope),
    propagation: propagator
      ? { inject: (context, headers) => propagator.inject(context, headers, defaultTextMapSetter), extract: (context, headers) => propagator.extract(context, headers, defaultTextMapGetter) }
      : { inject: (context, headers) => propagation.inject(context, headers), extract: (context, headers) => propagation.extract(context, headers) },
    consumerParent,
    batchCreateSpans,
    recordExceptions,
    tracing: tracingSwitch(tracerProvider),
  };
}
