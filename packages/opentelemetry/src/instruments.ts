import type { Attributes, Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';
import { isNoopCounter } from './activity.js';
import { OmnibusMetrics } from './omnibus-names.js';
import {
  DURATION_BUCKETS_SECONDS,
  METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES,
  METRIC_MESSAGING_CLIENT_OPERATION_DURATION,
  METRIC_MESSAGING_CLIENT_SENT_MESSAGES,
  METRIC_MESSAGING_PROCESS_DURATION,
} from './semconv.js';

/** Every instrument this package records, created once per `openTelemetry()` call. */
export class Instruments {
  readonly sentMessages: Counter;
  readonly consumedMessages: Counter;
  readonly operationDuration: Histogram;
  readonly processDuration: Histogram;
  readonly retries: Counter;
  readonly deadLetters: Counter;
  readonly deadLettersPending: Counter;
  readonly released: Counter;
  readonly inFlight: UpDownCounter;
  /** False when the meter is the API's no-op meter: nothing would be recorded. */
  readonly enabled: boolean;

  constructor(meter: Meter) {
    const duration = { unit: 's', advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS } };
    this.sentMessages = meter.createCounter(METRIC_MESSAGING_CLIENT_SENT_MESSAGES, { unit: '{message}', description: 'Number of messages a producer attempted to send to the broker.' });
    this.consumedMessages = meter.createCounter(METRIC_MESSAGING_CLIENT_CONSUMED_MESSAGES, { unit: '{message}', description: 'Number of messages delivered to the application.' });
    this.operationDuration = meter.createHistogram(METRIC_MESSAGING_CLIENT_OPERATION_DURATION, { ...duration, description: 'Duration of a send operation: from publish to the broker durably accepting it.' });
    this.processDuration = meter.createHistogram(METRIC_MESSAGING_PROCESS_DURATION, { ...duration, description: 'Duration of processing a delivery: from hand-over to the handler to its settlement.' });
    this.retries = meter.createCounter(OmnibusMetrics.retries, { unit: '{delivery}', description: 'Deliveries nacked for another attempt.' });
    this.deadLetters = meter.createCounter(OmnibusMetrics.deadLetters, { unit: '{message}', description: 'Messages stored in their dead-letter topic.' });
    this.deadLettersPending = meter.createCounter(OmnibusMetrics.deadLettersPending, { unit: '{delivery}', description: 'Dead-letter copies that could not be stored (the message is kept and the store retried).' });
    this.released = meter.createCounter(OmnibusMetrics.released, { unit: '{delivery}', description: 'Deliveries released for redelivery without an outcome (drain timeout, stopping, settle failure).' });
    this.inFlight = meter.createUpDownCounter(OmnibusMetrics.inFlight, { unit: '{delivery}', description: 'Deliveries handed to the handler and not settled yet.' });
    this.enabled = !isNoopCounter(this.sentMessages);
  }
}

/**
 * Metric attributes are low-cardinality (system, destination, group) and the same for every
 * message of a subscription: build each set once instead of once per message.
 */
export class AttributeCache {
  private readonly sets = new Map<string, Attributes>();

  get(key: string, build: () => Attributes): Attributes {
    const cached = this.sets.get(key);
    if (cached) return cached;
    const attributes = Object.freeze(build());
    // Bounded, in case topic or group names are generated: past the cap, sets are built per use.
    if (this.sets.size < MAX_CACHED_SETS) this.sets.set(key, attributes);
    return attributes;
  }
}

const MAX_CACHED_SETS = 1_000;
