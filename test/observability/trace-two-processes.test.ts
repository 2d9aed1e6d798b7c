// Issue 13: one trace id from a publisher to a consumer in two separate processes, on every
// transport, so that nothing but the message headers can carry the trace. memory:// cannot cross
// processes: there both sides share one process, and the test proves the consumer's trace comes
// from the headers, not from async context leaking from the publisher.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, createMemoryBroker, createMemoryTransport, defineTopic, Signal } from '@omnibus/core';
import { openTelemetry } from '@omnibus/opentelemetry';
import { cleanUpKafka, deleteRedisPrefix, describeWithBroker, fastKafkaOptions, uniqueName, type AvailableBroker, type BrokerKind } from '@omnibus/test-support';
import { deleteStreams, uniquePrefixes } from '../../packages/nats/test/helpers.js';
import { TestTelemetry } from '../../packages/opentelemetry/test/telemetry-fixture.js';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';
import { Job, OK_KEY, type ChildConfig } from './trace-scenario.js';
import { expectConsumerMetrics, expectOneTrace, processSpansDone, type Scenario } from './trace-expectations.js';
import { TracedProcess } from './trace-process.js';

const TIMEOUT_MS = 45_000;

describe('trace across publisher and consumer: memory (one process)', () => {
  // Context flows through async calls, as in an application with the Node SDK.
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  afterAll(() => {
    context.disable();
  });

  it('the consumer span continues the trace in the headers, never the publisher\'s async context', async () => {
    const telemetry = new TestTelemetry();
    const broker = createMemoryBroker();
    // The publisher's trace header is removed after it was written: only async context could still carry the trace.
    const stripTraceparent = { publish: async (envelope: { headers: Record<string, string> }, next: () => Promise<void>) => (delete envelope.headers.traceparent, next()) };
    const publisherBus = await createBus({ transport: createMemoryTransport({ options: { broker } }), middleware: [openTelemetry(telemetry.options()), stripTraceparent] });
    const consumerBus = await createBus({ transport: createMemoryTransport({ options: { broker } }), middleware: [openTelemetry(telemetry.options())] });
    const plainBus = await createBus({ transport: createMemoryTransport({ options: { broker } }) });
    try {
      const topic = defineTopic(uniqueName('otel-memory'), Job);
      const seen = new Signal();
      let plainRan = false;
      let leakedTraceId: string | undefined;
      let handlerSpanId: string | undefined;
      // Control: without instrumentation, memory:// hands the handler its subscriber's async context, never the publisher's
      // (a delivery dispatched inside the publish call once carried the publisher's active span).
      await plainBus.subscribe(topic, () => ((plainRan = true), (leakedTraceId = trace.getActiveSpan()?.spanContext().traceId), seen.notify()), { group: 'plain' });
      await consumerBus.subscribe(topic, () => ((handlerSpanId = trace.getActiveSpan()?.spanContext().spanId), seen.notify()), { group: 'traced' });
      const user = telemetry.tracerProvider.getTracer('test').startSpan('checkout');
      await context.with(trace.setSpan(context.active(), user), () => publisherBus.publish(topic, { kind: 'ok' }));
      user.end();
      const spans = await telemetry.waitForSpans((s) => s.some((x) => x.name === `process ${topic.name}`), 'the process span');
      await seen.until(() => plainRan, 5_000, () => 'the plain handler');
      expect(leakedTraceId, 'memory:// must not leak the publisher\'s async context (the control)').toBeUndefined();
      const processed = spans.find((s) => s.name === `process ${topic.name}`);
      expect(processed?.traceId).not.toBe(user.spanContext().traceId);
      expect(processed?.parentSpanId).toBeUndefined();
      expect(processed?.links).toEqual([]);
      expect(handlerSpanId).toBe(processed?.spanId);
    } finally {
      await Promise.all([publisherBus.close(), consumerBus.close(), plainBus.close()]);
      await telemetry.shutdown();
    }
  });

  it('with the header, one trace from publisher to consumer, attributes and events as on every broker', async () => {
    const telemetry = new TestTelemetry();
    const broker = createMemoryBroker();
    const publisherBus = await createBus({ transport: createMemoryTransport({ options: { broker } }), middleware: [openTelemetry(telemetry.options())] });
    const consumerTelemetry = new TestTelemetry();
    const consumerBus = await createBus({ transport: createMemoryTransport({ options: { broker } }), middleware: [openTelemetry(consumerTelemetry.options())] });
    try {
      const topic = defineTopic(uniqueName('otel-memory'), Job);
      const group = 'workers';
      await consumerBus.subscribe(
        topic,
        (message) => {
          if (message.body.kind === 'fail') throw new Error('this job always fails');
        },
        { group, retry: { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 50 } } },
      );
      const tracer = telemetry.tracerProvider.getTracer('checkout-service');
      const user = tracer.startSpan('checkout');
      const within = trace.setSpan(context.active(), user);
      const ok = await context.with(within, () => publisherBus.publish(topic, { kind: 'ok' }, { key: OK_KEY }));
      const fail = await context.with(within, () => publisherBus.publish(topic, { kind: 'fail' }));
      user.end();
      const consumerSpans = await consumerTelemetry.waitForSpans(processSpansDone(topic.name), '3 process spans');
      const scenario: Scenario = { system: 'memory', topic: topic.name, group, published: { ok, fail } };
      expectOneTrace(telemetry.spans(), consumerSpans, scenario);
      expectConsumerMetrics(await consumerTelemetry.metrics(), scenario);
    } finally {
      await Promise.all([publisherBus.close(), consumerBus.close()]);
      await Promise.all([telemetry.shutdown(), consumerTelemetry.shutdown()]);
    }
  });
});

/** Per broker: the transport name, options that keep this run's objects apart, and their cleanup. */
interface BrokerSetup {
  readonly transport: ChildConfig['transport'];
  readonly options: Record<string, unknown>;
  readonly cleanup: () => Promise<unknown>;
}

const setups: Record<BrokerKind, (endpoint: AvailableBroker) => BrokerSetup> = {
  rabbitmq: (endpoint) => {
    const prefix = `${uniqueName('otel')}.`;
    return { transport: 'rabbitmq', options: { prefix }, cleanup: () => cleanupPrefix(endpoint.url, prefix) };
  },
  kafka: (endpoint) => {
    const prefix = `${uniqueName('otel')}.`;
    return { transport: 'kafka', options: { prefix, ...fastKafkaOptions }, cleanup: () => cleanUpKafka(endpoint.brokers, prefix) };
  },
  redis: (endpoint) => {
    const prefix = `${uniqueName('otel')}:`;
    return { transport: 'redis', options: { prefix, blockMs: 100, schedulerIntervalMs: 50 }, cleanup: () => deleteRedisPrefix(endpoint.url, prefix) };
  },
  nats: (endpoint) => {
    const prefixes = uniquePrefixes('otel');
    return { transport: 'nats', options: { ...prefixes, publishTimeoutMs: 5_000 }, cleanup: () => deleteStreams(endpoint.url, prefixes.streamPrefix) };
  },
};

for (const kind of ['rabbitmq', 'kafka', 'redis', 'nats'] as const) {
  describeWithBroker(kind, `trace across publisher and consumer: ${kind} (two processes)`, (endpoint) => {
    const setup = setups[kind](endpoint);
    afterAll(async () => {
      await setup.cleanup();
    });

    it('one trace id from the publisher process to the consumer process, with the attributes, retry and dead-letter events', async () => {
      const base = { transport: setup.transport, url: endpoint.url, options: setup.options, topic: uniqueName('otel-trace'), group: uniqueName('otel-workers') };
      const consumer = await TracedProcess.start({ ...base, role: 'consumer' });
      let publisher: TracedProcess | undefined;
      try {
        await consumer.report('ready', TIMEOUT_MS);
        publisher = await TracedProcess.start({ ...base, role: 'publisher' });
        const published = await publisher.report('published', TIMEOUT_MS);
        const consumerSpans = await consumer.waitForSpans(processSpansDone(base.topic), TIMEOUT_MS, '3 process spans');
        const scenario: Scenario = { system: kind, topic: base.topic, group: base.group, published };
        expectOneTrace(publisher.spans, consumerSpans, scenario);
        expectConsumerMetrics(await consumer.metrics(10_000), scenario);
      } finally {
        await Promise.all([consumer.close(), publisher?.close()]);
      }
    });
  });
}
