import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, createMemoryBroker, createMemoryTransport, defineTopic, handlerSpy, NonRetryableError, type Bus, type MemoryBroker } from '@omnibus/core';
import { ConsumerParent, OmnibusEvents, openTelemetry, type OpenTelemetryOptions } from '../src/index.js';
import { TestTelemetry, type SpanRecord } from './telemetry-fixture.js';

const Order = z.object({ n: z.number() });
let topics = 0;
const topicName = () => `otel-unit-${process.pid}-${++topics}`;

describe('@omnibus/opentelemetry traces (memory://)', () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let telemetry: TestTelemetry;
  const buses: Bus[] = [];

  beforeAll(() => {
    // Context flows through async calls, as in an application with the Node SDK.
    context.setGlobalContextManager(contextManager.enable());
  });
  afterAll(() => {
    context.disable();
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close()));
    await telemetry.shutdown();
  });

  async function bus(options?: OpenTelemetryOptions, broker?: MemoryBroker): Promise<Bus> {
    const transport = createMemoryTransport(broker ? { options: { broker } } : undefined);
    const created = await createBus({ transport, middleware: [openTelemetry(telemetry.options(options))] });
    buses.push(created);
    return created;
  }

  /** Run `fn` inside an active user span; returns that span's ids. */
  async function inUserSpan(fn: () => Promise<unknown>): Promise<{ traceId: string; spanId: string }> {
    const span = telemetry.tracerProvider.getTracer('test').startSpan('user request');
    await context.with(trace.setSpan(context.active(), span), fn);
    span.end();
    return span.spanContext();
  }

  const named = (spans: SpanRecord[], name: string) => spans.filter((s) => s.name === name);

  it('a publish is a PRODUCER "send" span, child of the active span; the consumer "process" span is its child and links to it', async () => {
    telemetry = new TestTelemetry();
    const b = await bus();
    const topic = defineTopic(topicName(), Order);
    const spy = handlerSpy<z.infer<typeof Order>>();
    await b.subscribe(topic, spy.handler, { group: 'workers' });
    let id = '';
    const user = await inUserSpan(async () => {
      id = await b.publish(topic, { n: 1 }, { key: 'customer-7' });
    });
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 1, 'the process span');
    const [send] = named(spans, `send ${topic.name}`);
    const [processed] = named(spans, `process ${topic.name}`);
    expect(send).toMatchObject({ kind: SpanKind.PRODUCER, traceId: user.traceId, parentSpanId: user.spanId });
    expect(send?.attributes).toEqual({
      'messaging.system': 'memory',
      'messaging.destination.name': topic.name,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.message.id': id,
      'omnibus.message.key': 'customer-7',
    });
    expect(processed).toMatchObject({ kind: SpanKind.CONSUMER, traceId: user.traceId, parentSpanId: send?.spanId, links: [{ traceId: user.traceId, spanId: send?.spanId }] });
    expect(processed?.attributes).toEqual({
      'messaging.system': 'memory',
      'messaging.destination.name': topic.name,
      'messaging.consumer.group.name': 'workers',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': id,
      'omnibus.message.attempt': 1,
      'omnibus.message.key': 'customer-7',
      'omnibus.settlement.outcome': 'ack',
    });
    expect(processed?.status.code).toBe(SpanStatusCode.UNSET);
    // The handler ran inside the process span, and saw the W3C header it came from.
    expect(spy.calls[0]?.message.headers.traceparent).toBe(`00-${user.traceId}-${send?.spanId}-01`);
  });

  it('the handler runs in the process span: spans it starts are its children', async () => {
    telemetry = new TestTelemetry();
    const b = await bus();
    const topic = defineTopic(topicName(), Order);
    await b.subscribe(topic, () => telemetry.tracerProvider.getTracer('app').startSpan('handler work').end(), { group: 'g' });
    await b.publish(topic, { n: 1 });
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 1, 'the process span');
    expect(named(spans, 'handler work')[0]?.parentSpanId).toBe(named(spans, `process ${topic.name}`)[0]?.spanId);
  });

  it('a batch is one CLIENT "send" span linking a PRODUCER "create" span per message; each consumer span is the child of its own message\'s create span', async () => {
    telemetry = new TestTelemetry();
    const b = await bus();
    const topic = defineTopic(topicName(), Order);
    const spy = handlerSpy<z.infer<typeof Order>>();
    await b.subscribe(topic, spy.handler, { group: 'g' });
    let ids: string[] = [];
    const user = await inUserSpan(async () => {
      ids = await b.publishBatch(topic, [{ body: { n: 0 } }, { body: { n: 1 } }, { body: { n: 2 } }]);
    });
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 3, '3 process spans');
    const sends = named(spans, `send ${topic.name}`);
    const creates = named(spans, `create ${topic.name}`);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({ kind: SpanKind.CLIENT, parentSpanId: user.spanId });
    expect(sends[0]?.attributes).toMatchObject({ 'messaging.batch.message_count': 3, 'messaging.operation.type': 'send' });
    expect(sends[0]?.attributes['messaging.message.id']).toBeUndefined();
    expect(creates.map((c) => c.attributes['messaging.message.id'])).toEqual(ids);
    for (const create of creates) expect(create).toMatchObject({ kind: SpanKind.PRODUCER, traceId: user.traceId, parentSpanId: user.spanId, attributes: { 'messaging.operation.type': 'create' } });
    expect(sends[0]?.links.map((l) => l.spanId)).toEqual(creates.map((c) => c.spanId));
    for (const processed of named(spans, `process ${topic.name}`)) {
      const create = creates.find((c) => c.attributes['messaging.message.id'] === processed.attributes['messaging.message.id']);
      expect(processed.parentSpanId).toBe(create?.spanId);
      expect(processed.traceId).toBe(user.traceId);
    }
  });

  it('batchCreateSpans: false puts the batch\'s PRODUCER send span context in every message', async () => {
    telemetry = new TestTelemetry();
    const b = await bus({ batchCreateSpans: false });
    const topic = defineTopic(topicName(), Order);
    await b.subscribe(topic, () => {}, { group: 'g' });
    await b.publishBatch(topic, [{ body: { n: 0 } }, { body: { n: 1 } }]);
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 2, '2 process spans');
    const [send] = named(spans, `send ${topic.name}`);
    expect(send?.kind).toBe(SpanKind.PRODUCER);
    expect(named(spans, `create ${topic.name}`)).toHaveLength(0);
    expect(named(spans, `process ${topic.name}`).map((s) => s.parentSpanId)).toEqual([send?.spanId, send?.spanId]);
  });

  it('a retried message: the first process span has an omnibus.retry event and an error; the retry continues the same creation context', async () => {
    telemetry = new TestTelemetry();
    const b = await bus();
    const topic = defineTopic(topicName(), Order);
    class FlakyDependency extends Error {}
    await b.subscribe(
      topic,
      (message) => {
        if (message.attempt === 1) throw new FlakyDependency('try again');
      },
      { group: 'g', retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 5 } } },
    );
    await b.publish(topic, { n: 1 });
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 2, '2 process spans');
    const [send] = named(spans, `send ${topic.name}`);
    const [first, second] = named(spans, `process ${topic.name}`).sort((x, y) => Number(x.attributes['omnibus.message.attempt']) - Number(y.attributes['omnibus.message.attempt']));
    expect(first?.events.find((e) => e.name === OmnibusEvents.retry)?.attributes).toEqual({ 'omnibus.message.attempt': 1, 'omnibus.retry.delay_ms': 5, 'error.type': 'Error' });
    expect(first?.attributes).toMatchObject({ 'omnibus.settlement.outcome': 'retry', 'error.type': 'Error' });
    expect(first?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'try again' });
    expect(first?.events.some((e) => e.name === 'exception' && e.attributes['exception.message'] === 'try again')).toBe(true);
    expect(second?.attributes).toMatchObject({ 'omnibus.message.attempt': 2, 'omnibus.settlement.outcome': 'ack' });
    expect(second?.status.code).toBe(SpanStatusCode.UNSET);
    expect([first?.parentSpanId, second?.parentSpanId]).toEqual([send?.spanId, send?.spanId]);
  });

  it('a dead-lettered message: an omnibus.dead_letter event with the reason, error.type and an error status', async () => {
    telemetry = new TestTelemetry();
    const b = await bus();
    const topic = defineTopic(topicName(), Order);
    await b.subscribe(
      topic,
      () => {
        throw new NonRetryableError('bad order');
      },
      { group: 'g' },
    );
    await b.publish(topic, { n: 1 });
    const [processed] = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 1, 'the process span').then((s) => named(s, `process ${topic.name}`));
    expect(processed?.events.find((e) => e.name === OmnibusEvents.deadLetter)?.attributes).toEqual({
      'omnibus.message.attempt': 1,
      'omnibus.dead_letter.reason': 'non-retryable',
      'error.type': 'NonRetryableError',
    });
    expect(processed?.attributes).toMatchObject({ 'omnibus.settlement.outcome': 'dead-letter', 'error.type': 'NonRetryableError' });
    expect(processed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'bad order' });
  });

  it('a message that never reaches the handler (invalid) still gets a process span, started when it was handed over', async () => {
    telemetry = new TestTelemetry();
    const broker = createMemoryBroker();
    const name = topicName();
    const consumer = await bus({}, broker);
    const producer = await bus({}, broker);
    await consumer.subscribe(defineTopic(name, Order), () => {}, { group: 'g' });
    const id = await producer.publish(defineTopic(name, z.object({ n: z.string() })), { n: 'not a number' });
    const [processed] = await telemetry.waitForSpans((s) => named(s, `process ${name}`).length === 1, 'the process span').then((s) => named(s, `process ${name}`));
    expect(processed).toMatchObject({ kind: SpanKind.CONSUMER, attributes: { 'messaging.message.id': id, 'messaging.consumer.group.name': 'g', 'omnibus.settlement.outcome': 'dead-letter', 'error.type': 'ValidationError' } });
    expect(processed?.events.find((e) => e.name === OmnibusEvents.deadLetter)?.attributes['omnibus.dead_letter.reason']).toBe('invalid');
    expect(processed!.endMs).toBeGreaterThanOrEqual(processed!.startMs);
  });

  it('a creation context the publisher set itself is kept, and the send span links to it', async () => {
    telemetry = new TestTelemetry();
    const b = await bus();
    const topic = defineTopic(topicName(), Order);
    const spy = handlerSpy<z.infer<typeof Order>>();
    await b.subscribe(topic, spy.handler, { group: 'g' });
    const own = { traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', spanId: 'bbbbbbbbbbbbbbbb' };
    const traceparent = `00-${own.traceId}-${own.spanId}-01`;
    await b.publish(topic, { n: 1 }, { headers: { traceparent } });
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 1, 'the process span');
    expect(spy.calls[0]?.message.headers.traceparent).toBe(traceparent);
    expect(named(spans, `send ${topic.name}`)[0]?.links).toEqual([own]);
    expect(named(spans, `process ${topic.name}`)[0]).toMatchObject({ traceId: own.traceId, parentSpanId: own.spanId });
  });

  it(`consumerParent: '${ConsumerParent.link}' starts a new trace that links to the creation context`, async () => {
    telemetry = new TestTelemetry();
    const b = await bus({ consumerParent: ConsumerParent.link });
    const topic = defineTopic(topicName(), Order);
    await b.subscribe(topic, () => {}, { group: 'g' });
    const user = await inUserSpan(() => b.publish(topic, { n: 1 }));
    const spans = await telemetry.waitForSpans((s) => named(s, `process ${topic.name}`).length === 1, 'the process span');
    const [send] = named(spans, `send ${topic.name}`);
    const [processed] = named(spans, `process ${topic.name}`);
    expect(processed?.parentSpanId).toBeUndefined();
    expect(processed?.traceId).not.toBe(user.traceId);
    expect(processed?.links).toEqual([{ traceId: user.traceId, spanId: send?.spanId }]);
  });
});
