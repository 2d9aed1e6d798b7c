import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, NonRetryableError, Signal, type Bus } from '@omnibus/core';
import { OmnibusMetrics, openTelemetry } from '../src/index.js';
import { TestTelemetry, total } from './telemetry-fixture.js';

const Order = z.object({ n: z.number() });

describe('@omnibus/opentelemetry metrics (memory://)', () => {
  let telemetry: TestTelemetry;
  let bus: Bus;

  afterEach(async () => {
    await bus.close();
    await telemetry.shutdown();
  });

  it('counts sent and consumed messages, times sends and processing, counts retries and dead letters, and tracks in-flight deliveries', async () => {
    telemetry = new TestTelemetry();
    bus = await createBus({ url: 'memory://', middleware: [openTelemetry(telemetry.options())] });
    const topic = defineTopic(`otel-metrics-${process.pid}`, Order);
    const release = new Signal();
    let released = false;
    let holding = 0;
    await bus.subscribe(
      topic,
      async (message) => {
        if (message.body.n === 0) {
          holding += 1;
          release.notify();
          await release.until(() => released, 5_000, () => 'the test to release the handler');
        }
        if (message.body.n === 1 && message.attempt === 1) throw new Error('once');
        if (message.body.n === 2) throw new NonRetryableError('never');
      },
      { group: 'g', concurrency: 4, retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 5 } } },
    );
    await bus.publish(topic, { n: 0 });
    await bus.publishBatch(topic, [{ body: { n: 1 } }, { body: { n: 2 } }, { body: { n: 3 } }]);

    const consumer = { 'messaging.system': 'memory', 'messaging.destination.name': topic.name, 'messaging.consumer.group.name': 'g' };
    // n=0 is held in its handler: one delivery in flight.
    await release.until(() => holding === 1, 5_000, () => 'the first handler to start');
    expect(total((await telemetry.metrics())[OmnibusMetrics.inFlight], consumer)).toBe(1);

    released = true;
    release.notify();
    // 4 messages, 5 deliveries (n=1 twice): all settled once 5 process spans ended.
    await telemetry.waitForSpans((s) => s.filter((x) => x.name === `process ${topic.name}`).length === 5, '5 process spans');
    const m = await telemetry.metrics();
    const producer = { 'messaging.system': 'memory', 'messaging.destination.name': topic.name, 'messaging.operation.name': 'send' };
    expect(total(m['messaging.client.sent.messages'], producer)).toBe(4);
    expect(total(m['messaging.client.operation.duration'], producer)).toBe(2); // one publish, one batch
    expect(total(m['messaging.client.consumed.messages'], { ...consumer, 'messaging.operation.name': 'process' })).toBe(5);
    expect(total(m['messaging.process.duration'], consumer)).toBe(5);
    expect(total(m['messaging.process.duration'], { ...consumer, 'error.type': 'Error' })).toBe(1);
    expect(total(m['messaging.process.duration'], { ...consumer, 'error.type': 'NonRetryableError' })).toBe(1);
    expect(total(m[OmnibusMetrics.retries], consumer)).toBe(1);
    expect(total(m[OmnibusMetrics.deadLetters], { ...consumer, 'omnibus.dead_letter.reason': 'non-retryable' })).toBe(1);
    expect(total(m[OmnibusMetrics.inFlight], consumer)).toBe(0);
  });

  it('a failed publish is counted with its error.type, and its send span has an error status', async () => {
    telemetry = new TestTelemetry();
    bus = await createBus({ url: 'memory://', middleware: [openTelemetry(telemetry.options())] });
    const topic = defineTopic(`otel-metrics-fail-${process.pid}`, z.string());
    // Over the memory transport's limit: refused by core before the transport is called.
    await expect(bus.publish(topic, 'x'.repeat(17 * 1024 * 1024))).rejects.toMatchObject({ name: 'MessageTooLargeError' });
    const m = await telemetry.metrics();
    expect(total(m['messaging.client.sent.messages'], { 'error.type': 'MessageTooLargeError' })).toBe(1);
    expect(total(m['messaging.client.operation.duration'], { 'error.type': 'MessageTooLargeError' })).toBe(1);
    const [send] = telemetry.spans().filter((s) => s.name === `send ${topic.name}`);
    expect(send?.attributes['error.type']).toBe('MessageTooLargeError');
    expect(send?.status.code).toBe(2);
  });
});
