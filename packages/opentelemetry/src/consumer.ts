import { context as api, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';
import type { DeliveryMetadata, HandlerContext, Message, SettledEvent } from '@omnibus/core';
import { bodySize, deliveryAttributes, errorFacts, messagingSystem } from './attributes.js';
import { AttributeCache, type Instruments } from './instruments.js';
import {
  ATTR_OMNIBUS_DEAD_LETTER_REASON,
  ATTR_OMNIBUS_MESSAGE_ATTEMPT,
  ATTR_OMNIBUS_RETRY_DELAY_MS,
  ATTR_OMNIBUS_SETTLEMENT_OUTCOME,
  OmnibusEvents,
} from './omnibus-names.js';
import { ConsumerParent, type ResolvedOptions } from './options.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_CONSUMER_GROUP_NAME,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MessagingOperationType,
} from './semconv.js';

/** A delivery between the consume middleware and its settlement. */
interface Processing {
  readonly span: Span;
  readonly startedAt: number;
  readonly metricAttributes: Attributes;
  /** Counted in the in-flight up-down counter (only deliveries that reached the consume middleware are). */
  readonly counted: boolean;
}

/**
 * Consumer side: a "process" span per delivery, from the consume middleware (or, for a delivery
 * that never got there, from the settled hook) to its settlement, with the outcome on it.
 */
export class ConsumerInstrumentation {
  /** Keyed on the Message object core hands to middleware and, later, to the settled hook. */
  private readonly processing = new WeakMap<Message<unknown>, Processing>();
  private readonly metricAttributes = new AttributeCache();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly instruments: Instruments,
  ) {}

  consume(message: Message<unknown>, handlerContext: HandlerContext, next: () => Promise<void>): Promise<void> {
    let scope: Context;
    try {
      // Nothing records spans or metrics: the handler still gets the context from the headers.
      scope = this.instruments.enabled || this.options.tracing() ? this.begin(message, handlerContext) : this.options.propagation.extract(ROOT_CONTEXT, message.headers);
    } catch {
      return next();
    }
    try {
      return api.with(scope, next);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Start the span; returns the context the handler runs in. */
  private begin(message: Message<unknown>, handlerContext: HandlerContext): Context {
    const system = messagingSystem(handlerContext.transport);
    // Never the active context: on one machine it may be the publisher's, leaked through
    // async context (memory://). The trace comes from the message headers only.
    const extracted = this.options.propagation.extract(ROOT_CONTEXT, message.headers);
    const attributes = this.spanAttributes(system, message.topic, handlerContext.group, message.id, message.attempt, message.key, message.metadata);
    bodySize(attributes, message.body);
    const span = this.startSpan(message.topic, attributes, extracted, undefined);
    const metricAttributes = this.metricsFor(system, message.topic, handlerContext.group);
    this.processing.set(message, { span, startedAt: performance.now(), metricAttributes, counted: true });
    this.instruments.inFlight.add(1, metricAttributes);
    return trace.setSpan(extracted, span);
  }

  settled(event: SettledEvent): void {
    try {
      const known = event.message ? this.processing.get(event.message) : undefined;
      if (!known && !this.instruments.enabled && !this.options.tracing()) return;
      this.settle(event, known);
    } catch {
      // documented: the settled hook must not throw
    }
  }

  private settle(event: SettledEvent, known: Processing | undefined): void {
    if (event.message && known) this.processing.delete(event.message);
    this.finish(known ?? this.late(event), event);
  }

  /**
   * A delivery the consume middleware never saw (undecodable, invalid, a pending dead letter
   * stored on redelivery, or an earlier middleware threw): its span covers the same time,
   * started now less the delivery's duration.
   */
  private late(event: SettledEvent): Processing {
    const system = messagingSystem(event.transport);
    const extracted = event.message ? this.options.propagation.extract(ROOT_CONTEXT, event.message.headers) : ROOT_CONTEXT;
    const attributes = this.spanAttributes(system, event.topic, event.group, event.messageId, event.attempt, event.message?.key, event.metadata);
    const span = this.startSpan(event.topic, attributes, extracted, Date.now() - event.durationMs);
    return { span, startedAt: performance.now() - event.durationMs, metricAttributes: this.metricsFor(system, event.topic, event.group), counted: false };
  }

  private startSpan(topic: string, attributes: Attributes, extracted: Context, startTime: number | undefined): Span {
    const creation = trace.getSpanContext(extracted);
    const links: Link[] = creation && trace.isSpanContextValid(creation) ? [{ context: creation }] : [];
    const parent = this.options.consumerParent === ConsumerParent.creationContext ? extracted : trace.deleteSpan(extracted);
    return this.options.tracer.startSpan(`${MessagingOperationType.process} ${topic}`, { kind: SpanKind.CONSUMER, attributes, links, ...(startTime === undefined ? {} : { startTime }) }, parent);
  }

  private spanAttributes(system: string, topic: string, group: string, id: string, attempt: number, key: string | undefined, metadata: DeliveryMetadata | undefined): Attributes {
    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: system,
      [ATTR_MESSAGING_DESTINATION_NAME]: topic,
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: group,
      [ATTR_MESSAGING_OPERATION_TYPE]: MessagingOperationType.process,
      [ATTR_MESSAGING_OPERATION_NAME]: MessagingOperationType.process,
      [ATTR_MESSAGING_MESSAGE_ID]: id,
      [ATTR_OMNIBUS_MESSAGE_ATTEMPT]: attempt,
    };
    deliveryAttributes(attributes, system, key, metadata);
    return attributes;
  }

  private metricsFor(system: string, topic: string, group: string): Attributes {
    return this.metricAttributes.get(`${system}\n${topic}\n${group}`, () => ({
      [ATTR_MESSAGING_SYSTEM]: system,
      [ATTR_MESSAGING_DESTINATION_NAME]: topic,
      [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: group,
      [ATTR_MESSAGING_OPERATION_TYPE]: MessagingOperationType.process,
      [ATTR_MESSAGING_OPERATION_NAME]: MessagingOperationType.process,
    }));
  }

  /** Record the outcome on the span and in the metrics, and end the span. */
  private finish(processing: Processing, event: SettledEvent): void {
    const { span, metricAttributes } = processing;
    const { instruments } = this;
    span.setAttribute(ATTR_OMNIBUS_SETTLEMENT_OUTCOME, event.outcome);
    const error = event.error === undefined ? undefined : errorFacts(event.error);
    const attempt = { [ATTR_OMNIBUS_MESSAGE_ATTEMPT]: event.attempt };
    switch (event.outcome) {
      case 'ack':
        break;
      case 'retry':
        span.addEvent(OmnibusEvents.retry, { ...attempt, [ATTR_OMNIBUS_RETRY_DELAY_MS]: event.delayMs ?? 0, ...(error && { [ATTR_ERROR_TYPE]: error.type }) });
        instruments.retries.add(1, metricAttributes);
        break;
      case 'dead-letter':
        span.addEvent(OmnibusEvents.deadLetter, { ...attempt, [ATTR_OMNIBUS_DEAD_LETTER_REASON]: event.reason ?? 'unknown', ...(error && { [ATTR_ERROR_TYPE]: error.type }) });
        instruments.deadLetters.add(1, { ...metricAttributes, [ATTR_OMNIBUS_DEAD_LETTER_REASON]: event.reason ?? 'unknown' });
        break;
      case 'dead-letter-pending':
        span.addEvent(OmnibusEvents.deadLetterPending, { ...attempt, [ATTR_OMNIBUS_DEAD_LETTER_REASON]: event.reason ?? 'unknown', ...(error && { [ATTR_ERROR_TYPE]: error.type }) });
        instruments.deadLettersPending.add(1, metricAttributes);
        break;
      case 'released':
        span.addEvent(OmnibusEvents.released, { ...attempt, ...(error && { [ATTR_ERROR_TYPE]: error.type }) });
        instruments.released.add(1, metricAttributes);
        break;
    }
    // Undecodable and invalid messages were delivered but never reached the application.
    const unusable = event.reason === 'undecodable' || event.reason === 'invalid';
    instruments.consumedMessages.add(1, unusable ? { ...metricAttributes, [ATTR_ERROR_TYPE]: event.reason as string } : metricAttributes);
    const failed = event.outcome !== 'ack' && error !== undefined;
    if (failed) {
      span.setAttribute(ATTR_ERROR_TYPE, error.type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
      if (this.options.recordExceptions) span.recordException({ name: error.name, message: error.message, stack: error.stack });
    }
    const seconds = (performance.now() - processing.startedAt) / 1_000;
    instruments.processDuration.record(seconds, failed ? { ...metricAttributes, [ATTR_ERROR_TYPE]: error.type } : metricAttributes);
    if (processing.counted) instruments.inFlight.add(-1, metricAttributes);
    span.end();
  }
}
