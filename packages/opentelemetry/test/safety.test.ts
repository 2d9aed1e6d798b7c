import { propagation, trace, type TextMapPropagator, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, handlerSpy, type Bus, type ConfigError } from '@omnibus/core';
import { openTelemetry, type OpenTelemetryOptions } from '../src/index.js';
import { deliveryAttributes } from '../src/attributes.js';
import { TestTelemetry } from './telemetry-fixture.js';

const Order = z.object({ n: z.number() });
let topics = 0;
const topicName = () => `otel-safety-${process.pid}-${++topics}`;

describe('@omnibus/opentelemetry never stands in the way', () => {
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  async function roundTrip(options: OpenTelemetryOptions): Promise<Record<string, string>> {
    bus = await createBus({ url: 'memory://', middleware: [openTelemetry(options)] });
    const topic = defineTopic(topicName(), Order);
    const spy = handlerSpy<z.infer<typeof Order>>();
    await bus.subscribe(topic, spy.handler, { group: 'g' });
    const id = await bus.publish(topic, { n: 1 });
    const call = await spy.waitForMessageWithId(id, { timeoutMs: 5_000 });
    expect(call.outcome).toBe('ack');
    return { ...call.message.headers };
  }

  it('with no SDK registered (the API no-ops), messages flow and no trace header is written', async () => {
    const headers = await roundTrip({});
    expect(headers.traceparent).toBeUndefined();
  });

  it('a tracer that throws on every call: publish and delivery still work', async () => {
    const broken = new Proxy({} as Tracer, {
      get: () => () => {
        throw new Error('broken tracer');
      },
    });
    const tracerProvider: TracerProvider = { getTracer: () => broken };
    await roundTrip({ tracerProvider });
  });

  it('a propagator that throws: publish and delivery still work', async () => {
    const propagator: TextMapPropagator = {
      inject: () => {
        throw new Error('broken inject');
      },
      extract: () => {
        throw new Error('broken extract');
      },
      fields: () => [],
    };
    await roundTrip({ propagator });
  });

  it('thrown values that are not Errors are recorded as error.type _OTHER, and the delivery is still retried', async () => {
    const telemetry = new TestTelemetry();
    bus = await createBus({ url: 'memory://', middleware: [openTelemetry(telemetry.options())] });
    const topic = defineTopic(topicName(), Order);
    const hostile = [
      Object.create(null) as object,
      {
        toString() {
          throw new Error('no');
        },
      },
    ];
    await bus.subscribe(
      topic,
      (message) => {
        if (message.attempt <= hostile.length) throw hostile[message.attempt - 1];
      },
      { group: 'g', retry: { maxAttempts: 5, backoff: { type: 'fixed', delayMs: 1 } } },
    );
    await bus.publish(topic, { n: 1 });
    const spans = await telemetry.waitForSpans((s) => s.filter((x) => x.name === `process ${topic.name}`).length === 3, '3 process spans');
    const outcomes = spans.filter((s) => s.name === `process ${topic.name}`).map((s) => [s.attributes['omnibus.settlement.outcome'], s.attributes['error.type']]);
    expect(outcomes).toEqual([
      ['retry', '_OTHER'],
      ['retry', '_OTHER'],
      ['ack', undefined],
    ]);
    await telemetry.shutdown();
  });

  it('a global SDK registered after the middleware was created is used from the next message on', async () => {
    const telemetry = new TestTelemetry();
    const middleware = openTelemetry();
    bus = await createBus({ url: 'memory://', middleware: [middleware] });
    const topic = defineTopic(topicName(), Order);
    const spy = handlerSpy<z.infer<typeof Order>>();
    await bus.subscribe(topic, spy.handler, { group: 'g' });
    const before = await bus.publish(topic, { n: 0 });
    await spy.waitForMessageWithId(before, { timeoutMs: 5_000 });
    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    propagation.setGlobalPropagator(telemetry.propagator);
    try {
      const after = await bus.publish(topic, { n: 1 });
      const spans = await telemetry.waitForSpans((s) => s.length === 2, 'the send and process spans');
      expect(spans.map((s) => [s.name, s.attributes['messaging.message.id']]).sort()).toEqual([
        [`process ${topic.name}`, after],
        [`send ${topic.name}`, after],
      ]);
      expect(spy.calls.find((c) => c.message.id === before)?.message.headers.traceparent).toBeUndefined();
    } finally {
      trace.disable();
      propagation.disable();
      await telemetry.shutdown();
    }
  });

  it('an unknown or wrong option is a ConfigError naming it', () => {
    expect(() => openTelemetry({ tracerProvder: {} } as OpenTelemetryOptions)).toThrow(expect.objectContaining({ name: 'ConfigError', field: 'options.tracerProvder' }) as ConfigError);
    expect(() => openTelemetry({ consumerParent: 'parent' } as unknown as OpenTelemetryOptions)).toThrow(expect.objectContaining({ field: 'options.consumerParent' }) as ConfigError);
    expect(() => openTelemetry({ meterProvider: {} } as OpenTelemetryOptions)).toThrow(expect.objectContaining({ field: 'options.meterProvider' }) as ConfigError);
  });
});

describe('delivery metadata as attributes', () => {
  it('uses the conventions\' names where the broker has them, omnibus.* elsewhere', () => {
    const of = (system: string, key: string | undefined, metadata: Record<string, string | number>) => {
      const attributes = {};
      deliveryAttributes(attributes, system, key, metadata);
      return attributes;
    };
    expect(of('kafka', 'k', { partition: 3, offset: '42' })).toEqual({ 'messaging.kafka.message.key': 'k', 'messaging.destination.partition.id': '3', 'messaging.kafka.offset': 42 });
    // An offset a double cannot hold exactly is kept as text, never rounded.
    expect(of('kafka', undefined, { offset: '9007199254740993' })).toEqual({ 'omnibus.message.offset': '9007199254740993' });
    expect(of('rabbitmq', 'k', { deliveryTag: '7' })).toEqual({ 'omnibus.message.key': 'k', 'messaging.rabbitmq.message.delivery_tag': 7 });
    expect(of('redis', undefined, { offset: '1712345678901-0' })).toEqual({ 'omnibus.message.offset': '1712345678901-0' });
    expect(of('nats', undefined, { offset: '12', deliveryTag: '5', stream: 'S' })).toEqual({ 'omnibus.message.offset': '12', 'omnibus.delivery_tag': '5', 'omnibus.metadata.stream': 'S' });
  });
});
