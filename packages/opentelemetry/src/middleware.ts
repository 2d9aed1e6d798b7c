import type { Middleware } from '@omnibus/core';
import { ConsumerInstrumentation } from './consumer.js';
import { Instruments } from './instruments.js';
import { resolveOptions, type OpenTelemetryOptions } from './options.js';
import { ProducerInstrumentation } from './producer.js';

/**
 * Omnibus middleware that traces and measures every publish and delivery following the
 * OpenTelemetry messaging semantic conventions (v1.27.0; see the README for every span,
 * attribute, event and metric). Pass it to `createBus({ middleware: [openTelemetry()] })`.
 *
 * Without a registered SDK the API's no-op tracer and meter are used and the cost is a few
 * no-op calls per message. Nothing here throws into a publish or a delivery.
 */
export function openTelemetry(options?: OpenTelemetryOptions): Middleware {
  const resolved = resolveOptions(options);
  const instruments = new Instruments(resolved.meter);
  const producer = new ProducerInstrumentation(resolved, instruments);
  const consumer = new ConsumerInstrumentation(resolved, instruments);
  return {
    publish: (envelope, next) => producer.publish(envelope, next),
    consume: (message, context, next) => consumer.consume(message, context, next),
    settled: (event) => consumer.settled(event),
  };
}
