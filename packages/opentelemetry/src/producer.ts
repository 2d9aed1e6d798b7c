import { context as api, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { EnvelopeHeaders, type Publication } from '@omnibus/core';
import { bodySize, deliveryAttributes, errorFacts, messagingSystem } from './attributes.js';
import { AttributeCache, type Instruments } from './instruments.js';
import type { ResolvedOptions } from './options.js';
import {
  ATTR_ERROR_TYPE,
  ATTR_MESSAGING_BATCH_MESSAGE_COUNT,
  ATTR_MESSAGING_DESTINATION_NAME,
  ATTR_MESSAGING_MESSAGE_ID,
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_OPERATION_TYPE,
  ATTR_MESSAGING_SYSTEM,
  MessagingOperationType,
} from './semconv.js';

/** The W3C header a user sets to give a message their own creation context (see the conventions: it is kept). */
const TRACEPARENT = 'traceparent';

/**
 * One "send" operation: a `publish` call, or a `publishBatch` call whose messages arrive here
 * one by one (publish middleware runs per message). Its span ends when every message of it
 * that passed through here is settled (accepted by the broker or failed).
 */
interface SendOperation {
  readonly span: Span;
  /** The caller's context with the send span in it: next() runs in it. */
  readonly context: Context;
  readonly startedAt: number;
  readonly size: number;
  readonly metricAttributes: Attributes;
  /** Where the operation is: taking messages in, waiting for their settlement, or over. */
  state: 'collecting' | 'sending' | 'ended';
  /** Messages of the batch seen so far (the next batchIndex expected). */
  arrived: number;
  /** Messages seen and not settled yet. */
  unsettled: number;
  failure: { readonly error: unknown } | undefined;
}

/** Producer side: a span per send, a creation context in every message's headers, send metrics. */
export class ProducerInstrumentation {
  /**
   * Batches still taking messages, by topic, ce-time and size. The bus calls publish middleware
   * for all messages of a batch in one synchronous pass, in index order, so the open batch whose
   * next index is this message's is the one it belongs to.
   */
  private readonly collecting = new Map<string, SendOperation[]>();
  private readonly metricAttributes = new AttributeCache();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly instruments: Instruments,
  ) {}

  publish(publication: Publication, next: () => Promise<void>): Promise<void> {
    if (!this.instruments.enabled && !this.options.tracing()) return this.propagateOnly(publication, next);
    let operation: SendOperation;
    try {
      operation = this.join(publication);
    } catch {
      // Instrumentation must never stand in the way of a publish.
      return next();
    }
    let sent: Promise<void>;
    try {
      sent = api.with(operation.context, next);
    } catch (error) {
      sent = Promise.reject(error);
    }
    return sent.then(
      () => this.settle(operation, undefined),
      (error: unknown) => {
        this.settle(operation, { error });
        throw error;
      },
    );
  }

  /** Nothing records spans or metrics: only pass on the active context (baggage, a remote parent). */
  private propagateOnly(publication: Publication, next: () => Promise<void>): Promise<void> {
    try {
      if (publication.headers[TRACEPARENT] === undefined) this.options.propagation.inject(api.active(), publication.headers);
    } catch {
      // never into the publish path
    }
    return next();
  }

  /** Find or start this message's send operation, and give the message its creation context. */
  private join(publication: Publication): SendOperation {
    const parent = api.active();
    const single = publication.batchSize <= 1;
    const operation = single ? this.start(publication, parent) : this.batchOf(publication, parent);
    operation.arrived += 1;
    operation.unsettled += 1;
    if (operation.arrived >= operation.size) this.stopCollecting(publication, operation);

    const userContext = publication.headers[TRACEPARENT] !== undefined;
    if (userContext) {
      // The publisher set a creation context itself: keep it, and link the send span to it.
      const linked = trace.getSpanContext(this.options.propagation.extract(parent, publication.headers));
      if (linked) operation.span.addLink({ context: linked });
    } else if (single || !this.options.batchCreateSpans) {
      this.options.propagation.inject(operation.context, publication.headers);
    } else {
      const create = this.options.tracer.startSpan(
        `${MessagingOperationType.create} ${publication.topic}`,
        { kind: SpanKind.PRODUCER, attributes: this.messageAttributes(publication, MessagingOperationType.create) },
        parent,
      );
      this.options.propagation.inject(trace.setSpan(parent, create), publication.headers);
      operation.span.addLink({ context: create.spanContext() });
      create.end();
    }
    return operation;
  }

  private batchOf(publication: Publication, parent: Context): SendOperation {
    const key = batchKey(publication);
    const open = this.collecting.get(key);
    const match = open?.find((operation) => operation.arrived === publication.batchIndex) ?? (publication.batchIndex > 0 ? open?.[0] : undefined);
    if (match) return match;
    const operation = this.start(publication, parent);
    if (open) open.push(operation);
    else this.collecting.set(key, [operation]);
    return operation;
  }

  private start(publication: Publication, parent: Context): SendOperation {
    const size = Math.max(1, publication.batchSize);
    const system = messagingSystem(publication.transport);
    // Its context is the creation context of its messages unless each gets a "create" span.
    const isCreationContext = size === 1 || !this.options.batchCreateSpans;
    const attributes = size === 1 ? this.messageAttributes(publication, MessagingOperationType.send) : this.batchAttributes(publication, system, size);
    const span = this.options.tracer.startSpan(`${MessagingOperationType.send} ${publication.topic}`, { kind: isCreationContext ? SpanKind.PRODUCER : SpanKind.CLIENT, attributes }, parent);
    const metricAttributes = this.metricAttributes.get(`${system}\n${publication.topic}`, () => ({
      [ATTR_MESSAGING_SYSTEM]: system,
      [ATTR_MESSAGING_DESTINATION_NAME]: publication.topic,
      [ATTR_MESSAGING_OPERATION_TYPE]: MessagingOperationType.send,
      [ATTR_MESSAGING_OPERATION_NAME]: MessagingOperationType.send,
    }));
    return { span, context: trace.setSpan(parent, span), startedAt: performance.now(), size, metricAttributes, state: 'collecting', arrived: 0, unsettled: 0, failure: undefined };
  }

  private messageAttributes(publication: Publication, operation: string): Attributes {
    const system = messagingSystem(publication.transport);
    const attributes: Attributes = {
      [ATTR_MESSAGING_SYSTEM]: system,
      [ATTR_MESSAGING_DESTINATION_NAME]: publication.topic,
      [ATTR_MESSAGING_OPERATION_TYPE]: operation,
      [ATTR_MESSAGING_OPERATION_NAME]: operation,
      [ATTR_MESSAGING_MESSAGE_ID]: publication.id,
    };
    deliveryAttributes(attributes, system, publication.key, undefined);
    bodySize(attributes, publication.body);
    return attributes;
  }

  private batchAttributes(publication: Publication, system: string, size: number): Attributes {
    return {
      [ATTR_MESSAGING_SYSTEM]: system,
      [ATTR_MESSAGING_DESTINATION_NAME]: publication.topic,
      [ATTR_MESSAGING_OPERATION_TYPE]: MessagingOperationType.send,
      [ATTR_MESSAGING_OPERATION_NAME]: MessagingOperationType.send,
      [ATTR_MESSAGING_BATCH_MESSAGE_COUNT]: size,
    };
  }

  private stopCollecting(publication: Publication, operation: SendOperation): void {
    if (operation.state !== 'collecting') return;
    operation.state = 'sending';
    if (operation.size === 1) return;
    const key = batchKey(publication);
    const open = this.collecting.get(key);
    if (!open) return;
    const rest = open.filter((o) => o !== operation);
    if (rest.length > 0) this.collecting.set(key, rest);
    else this.collecting.delete(key);
  }

  /** One message of the operation is settled; the last one ends the span and records the metrics. */
  private settle(operation: SendOperation, failure: { readonly error: unknown } | undefined): void {
    try {
      operation.unsettled -= 1;
      operation.failure ??= failure;
      const facts = failure ? errorFacts(failure.error) : undefined;
      this.instruments.sentMessages.add(1, facts ? { ...operation.metricAttributes, [ATTR_ERROR_TYPE]: facts.type } : operation.metricAttributes);
      if (operation.unsettled > 0 || operation.state === 'ended') return;
      // Messages that never reached this middleware (an earlier one threw) leave the batch short.
      if (operation.state === 'collecting') this.abandon(operation);
      operation.state = 'ended';
      const seconds = (performance.now() - operation.startedAt) / 1_000;
      if (operation.failure) {
        const error = errorFacts(operation.failure.error);
        operation.span.setAttribute(ATTR_ERROR_TYPE, error.type);
        operation.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
        if (this.options.recordExceptions) operation.span.recordException({ name: error.name, message: error.message, stack: error.stack });
        this.instruments.operationDuration.record(seconds, { ...operation.metricAttributes, [ATTR_ERROR_TYPE]: error.type });
      } else {
        this.instruments.operationDuration.record(seconds, operation.metricAttributes);
      }
      operation.span.end();
    } catch {
      // never into the publish path
    }
  }

  private abandon(operation: SendOperation): void {
    for (const [key, open] of this.collecting) {
      if (!open.includes(operation)) continue;
      const rest = open.filter((o) => o !== operation);
      if (rest.length > 0) this.collecting.set(key, rest);
      else this.collecting.delete(key);
    }
  }
}

/** Messages of one publishBatch call share topic, size and ce-time. */
function batchKey(publication: Publication): string {
  return `${publication.topic}\n${publication.batchSize}\n${publication.headers[EnvelopeHeaders.time] ?? ''}`;
}
