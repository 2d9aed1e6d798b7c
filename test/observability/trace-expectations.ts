// What one traced publish-and-consume must look like on every transport (the README's promises):
// one trace from the publisher's span to every consumer span, the consumer spans children of the
// producer spans and linked to them, the messaging attributes, the retry and dead-letter events.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { expect } from 'vitest';
import type { PointRecord, SpanRecord } from '../../packages/opentelemetry/test/telemetry-fixture.js';
import { total } from '../../packages/opentelemetry/test/telemetry-fixture.js';
import { OK_KEY } from './trace-scenario.js';

export interface Scenario {
  readonly system: string;
  readonly topic: string;
  readonly group: string;
  readonly published: { readonly ok: string; readonly fail: string };
}

/** The consumer's process spans the scenario produces: ok acked, fail retried once then dead-lettered. */
export const processSpansDone = (topic: string) => (spans: readonly SpanRecord[]) => spans.filter((s) => s.name === `process ${topic}`).length >= 3;

export function expectOneTrace(publisher: readonly SpanRecord[], consumer: readonly SpanRecord[], { system, topic, group, published }: Scenario): void {
  const [checkout] = publisher.filter((s) => s.name === 'checkout');
  expect(checkout, 'the publisher exported its user span').toBeDefined();
  const traceId = checkout?.traceId;
  const sendOf = (id: string) => publisher.find((s) => s.name === `send ${topic}` && s.attributes['messaging.message.id'] === id);
  for (const id of [published.ok, published.fail]) {
    expect(sendOf(id)).toMatchObject({
      kind: SpanKind.PRODUCER,
      traceId,
      parentSpanId: checkout?.spanId,
      attributes: { 'messaging.system': system, 'messaging.destination.name': topic, 'messaging.operation.type': 'send', 'messaging.operation.name': 'send' },
    });
  }
  const processed = consumer.filter((s) => s.name === `process ${topic}`);
  expect(processed).toHaveLength(3);
  for (const span of processed) {
    const send = sendOf(String(span.attributes['messaging.message.id']));
    // One trace across two processes: only the headers could have carried it.
    expect(span).toMatchObject({ kind: SpanKind.CONSUMER, traceId, parentSpanId: send?.spanId, links: [{ traceId, spanId: send?.spanId }] });
    expect(span.attributes).toMatchObject({
      'messaging.system': system,
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': group,
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
    });
  }
  const ofMessage = (id: string) => processed.filter((s) => s.attributes['messaging.message.id'] === id).sort((a, b) => Number(a.attributes['omnibus.message.attempt']) - Number(b.attributes['omnibus.message.attempt']));
  const [ok] = ofMessage(published.ok);
  expect(ok?.attributes).toMatchObject({ 'omnibus.message.attempt': 1, 'omnibus.settlement.outcome': 'ack', [system === 'kafka' ? 'messaging.kafka.message.key' : 'omnibus.message.key']: OK_KEY });
  expect(ok?.status.code).toBe(SpanStatusCode.UNSET);
  const [retried, deadLettered] = ofMessage(published.fail);
  expect(retried?.attributes).toMatchObject({ 'omnibus.message.attempt': 1, 'omnibus.settlement.outcome': 'retry', 'error.type': 'Error' });
  expect(retried?.events.find((e) => e.name === 'omnibus.retry')?.attributes).toEqual({ 'omnibus.message.attempt': 1, 'omnibus.retry.delay_ms': 50, 'error.type': 'Error' });
  expect(retried?.status.code).toBe(SpanStatusCode.ERROR);
  expect(deadLettered?.attributes).toMatchObject({ 'omnibus.message.attempt': 2, 'omnibus.settlement.outcome': 'dead-letter', 'error.type': 'Error' });
  expect(deadLettered?.events.find((e) => e.name === 'omnibus.dead_letter')?.attributes).toEqual({ 'omnibus.message.attempt': 2, 'omnibus.dead_letter.reason': 'max-attempts', 'error.type': 'Error' });
  expect(deadLettered?.status.code).toBe(SpanStatusCode.ERROR);
}

export function expectConsumerMetrics(metrics: Record<string, PointRecord[]>, { system, topic, group }: Scenario): void {
  const consumer = { 'messaging.system': system, 'messaging.destination.name': topic, 'messaging.consumer.group.name': group };
  expect(total(metrics['messaging.client.consumed.messages'], consumer)).toBe(3);
  expect(total(metrics['messaging.process.duration'], consumer)).toBe(3);
  expect(total(metrics['omnibus.consumer.retries'], consumer)).toBe(1);
  expect(total(metrics['omnibus.consumer.dead_letters'], { ...consumer, 'omnibus.dead_letter.reason': 'max-attempts' })).toBe(1);
  expect(total(metrics['omnibus.consumer.in_flight'], consumer)).toBe(0);
}
