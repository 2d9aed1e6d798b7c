import { createNoopMeter, ProxyTracerProvider, trace, type Counter, type TracerProvider } from '@opentelemetry/api';

/**
 * Whether anything would record what this package measures. With no SDK registered, the API
 * hands out no-op tracers and meters: then publish and delivery skip spans, attributes and
 * bookkeeping entirely and only propagate context (a few no-op calls per message).
 */

// A proxy provider with no delegate answers with the API's no-op provider (not exported otherwise).
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
// The no-op meter hands out one shared no-op instrument per kind.
const NOOP_COUNTER = createNoopMeter().createCounter('omnibus.noop');

/** Tracing is on unless the provider is (or delegates to) the API's no-op one; re-checked per message, as an SDK may register later. */
export function tracingSwitch(explicit: TracerProvider | undefined): () => boolean {
  return () => {
    const provider = explicit ?? trace.getTracerProvider();
    if (provider === NOOP_TRACER_PROVIDER) return false;
    return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_TRACER_PROVIDER;
  };
}

/** Metrics are off when the meter's instruments are the API's no-op ones (the meter is fixed when openTelemetry() is called). */
export function isNoopCounter(counter: Counter): boolean {
  return counter === NOOP_COUNTER;
}
