import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { parseAckSubject } from '../src/received.js';
import { bytes, collector, deleteStreams, natsTransport, uniquePrefixes, withJsm } from './helpers.js';

describeWithBroker('nats', 'nats transport: delivery metadata', (endpoint) => {
  const prefixes = uniquePrefixes('metadata');
  const opened: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it("carries the stream and consumer sequence, stream, consumer, delivered count, pending and store time of each delivery, as the broker has them", async () => {
    const transport = natsTransport(endpoint.url, prefixes);
    opened.push(transport);
    const topic = uniqueName('meta');
    const stream = `${prefixes.streamPrefix}_${topic}`;
    await transport.ensureGroup(topic, 'g');
    // Interest retention drops a message once every group acked it: this group keeps them for the checks below.
    await transport.ensureGroup(topic, 'keeper');
    const publishedFrom = Date.now();
    await transport.publish(['m1', 'm2', 'm3'].map((id) => ({ id, topic, key: undefined, headers: {}, body: bytes(id) })));
    const publishedTo = Date.now();

    const seen = collector();
    // m1 is nacked once, so it comes again: same stream sequence, next consumer sequence, delivered twice.
    seen.handle = (d) => void (d.message.id === 'm1' && d.attempt === 1 ? d.nack() : d.ack());
    await transport.subscribe({ topic, group: 'g', concurrency: 3, onDelivery: seen.onDelivery, onError: seen.onError });
    await seen.until(() => seen.deliveries.length === 4, 10_000, 'three deliveries and a redelivery');

    const facts = seen.deliveries.map((d) => ({ id: d.message.id, ...d.metadata }) as Record<string, string | number | undefined>);
    const first = facts.slice(0, 3);
    const again = facts[3];
    expect(first.map((f) => f.id)).toEqual(['m1', 'm2', 'm3']);
    expect(first.map((f) => [f.stream, f.consumer, f.deliveredCount, f.deliveryTag, f.pending])).toEqual([
      [stream, 'g', 1, '1', 2],
      [stream, 'g', 1, '2', 1],
      [stream, 'g', 1, '3', 0],
    ]);
    expect(again).toMatchObject({ id: 'm1', stream, consumer: 'g', deliveredCount: 2, deliveryTag: '4', offset: first[0]?.offset, pending: 0 });
    for (const fact of facts) {
      const storedAt = Date.parse(String(fact.storedAt));
      expect(storedAt).toBeGreaterThanOrEqual(publishedFrom - 1);
      expect(storedAt).toBeLessThanOrEqual(publishedTo + 1);
    }

    // The broker's own view: each offset is the stream sequence holding that message, and the
    // consumer's last delivery is the highest delivery tag.
    await withJsm(endpoint.url, async (jsm) => {
      for (const fact of first) {
        const stored = await jsm.streams.getMessage(stream, { seq: Number(fact.offset) });
        expect(new TextDecoder().decode(stored?.data)).toBe(fact.id);
        expect(stored?.time.toISOString()).toBe(fact.storedAt);
      }
      const info = await jsm.consumers.info(stream, 'g');
      expect(info.delivered.consumer_seq).toBe(4);
    });
  });
});

describe('the ack subject', () => {
  it('is read in both forms the server sends: without and with domain and account hash', () => {
    const plain = parseAckSubject('$JS.ACK.S.c.2.17.41.1732000000123456789.5');
    const withDomain = parseAckSubject('$JS.ACK.hub.ACCHASH.S.c.2.17.41.1732000000123456789.5.rand');
    for (const parsed of [plain, withDomain]) {
      expect(parsed).toEqual({ deliveryCount: 2, streamSequence: 17, consumerSequence: 41, storedAt: '1732000000123456789', pending: 5 });
    }
    expect(parseAckSubject('not-an-ack-subject')).toEqual({ deliveryCount: 1, streamSequence: 0, consumerSequence: 0, storedAt: '0', pending: 0 });
  });
});
