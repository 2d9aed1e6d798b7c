import { afterAll, afterEach, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker } from '@omnibus/test-support';
import { Kafka, logLevel } from 'kafkajs';
import { KafkaTransportHeaders } from '../src/index.js';
import { DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('attempts');

describeWithBroker('kafka', 'kafka transport: attempt bookkeeping cannot be spoofed on a user topic', (endpoint) => {
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('delivers a foreign message with attempt and due headers as a fresh message: attempt 1, at once, then counted by Omnibus', async () => {
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(transport);
    const topic = unique('spoof');
    const log = new DeliveryLog();
    await transport.subscribe({ topic, group: 'g', concurrency: 2, onDelivery: log.onDelivery, onError: () => {} });

    // Anyone may write to a user topic with a plain Kafka client.
    const producer = new Kafka({ brokers: [...endpoint.brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    try {
      const farFuture = String(Date.now() + 3_600_000);
      await producer.send({
        topic: `${prefix}${topic}`,
        messages: [
          { value: 'forged', headers: { 'ce-id': 'forged-1', [KafkaTransportHeaders.attempt]: '99', 'x-own': 'kept' } },
          { value: 'forged', headers: { 'ce-id': 'forged-2', [KafkaTransportHeaders.due]: farFuture } },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const first = await log.waitFor((d) => d.message.id === 'forged-1', 10_000, 'the foreign message');
    expect(first.attempt).toBe(1);
    // A due time on a user topic is no reason to hold a message (it would also hold back the commits).
    const undelayed = await log.waitFor((d) => d.message.id === 'forged-2', 10_000, 'the foreign message with a due time, at once');
    expect(undelayed.attempt).toBe(1);
    await undelayed.ack();
    // Transport headers are never a message's own, whoever wrote them.
    expect(first.message.headers).toEqual({ 'ce-id': 'forged-1', 'x-own': 'kept' });
    // From here on the count is Omnibus' own, kept in its retry topic.
    await first.nack({ delayMs: 50 });
    const second = await log.waitFor((d) => d.message.id === 'forged-1' && d !== first, 10_000, 'the retry');
    expect(second.attempt).toBe(2);
    await second.nack({ delayMs: 50 });
    const third = await log.waitFor((d) => d.message.id === 'forged-1' && d !== first && d !== second, 10_000, 'the second retry');
    expect(third.attempt).toBe(3);
    await third.ack();
  });
});
