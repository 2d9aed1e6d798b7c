import { afterAll, afterEach, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin } from '@omnibus/test-support';
import { createNaming } from '../src/naming.js';
import { body, DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('metadata');
const naming = createNaming({ prefix });

describeWithBroker('kafka', 'kafka transport: delivery metadata', (endpoint) => {
  const admin = kafkaAdmin(endpoint.brokers);
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await admin.disconnect();
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('carries the partition, offset, key, timestamp and Kafka topic of the record delivered', async () => {
    await admin.connect();
    const t = makeTransport(endpoint.url, prefix, { partitions: 2 });
    open.push(t);
    const topic = unique('meta');
    const log = new DeliveryLog();
    await t.subscribe({ topic, group: 'g', concurrency: 4, onDelivery: log.onDelivery, onError: () => {} });
    const before = Date.now();
    await t.publish([{ id: 'keyed', topic, key: 'customer-7', headers: {}, body: body('a') }]);
    await t.publish([{ id: 'delayed', topic, key: undefined, headers: {}, body: body('b'), delayMs: 200 }]);
    const keyed = await log.waitFor((d) => d.message.id === 'keyed');
    const delayed = await log.waitFor((d) => d.message.id === 'delayed');

    // The broker's own view of where the keyed record is: the one partition whose log end moved.
    const ends = await admin.fetchTopicOffsets(naming.topic(topic));
    const written = ends.find((p) => p.high === '1');
    expect(keyed.metadata).toEqual({ partition: written?.partition, offset: '0', key: 'customer-7', timestamp: expect.any(Number), kafkaTopic: naming.topic(topic) });
    expect(keyed.metadata?.timestamp).toBeGreaterThanOrEqual(before - 1_000);
    expect(keyed.metadata?.timestamp).toBeLessThanOrEqual(Date.now());
    // A delayed publish is a record of the delay topic: its own partition and offset.
    expect(delayed.metadata).toMatchObject({ offset: '0', key: undefined, kafkaTopic: naming.delayTopic(topic) });

    await keyed.nack();
    const retried = await log.waitFor((d) => d.message.id === 'keyed' && d.attempt === 2);
    expect(retried.metadata).toMatchObject({ offset: '0', key: 'customer-7', kafkaTopic: naming.retryTopic(topic, 'g') });
  });
});
