// Found by the outbox suite (its cases run concurrently on one bus): on @platformatic/kafka 1.22,
// concurrent createTopics calls of one Admin shared the first call's request, so of four
// subscriptions to four new topics at once only one topic existed, and the others failed with
// UNKNOWN_TOPIC_OR_PARTITION. Every new topic must exist and carry its messages.
import { afterAll, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin } from '@omnibus/test-support';
import { body, DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('concurrent');

describeWithBroker('kafka', 'kafka transport: topics created concurrently', (endpoint) => {
  let transport: Transport | undefined;
  afterAll(async () => {
    await transport?.close();
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('subscribes to four new topics at once, and each one gets its own message', async () => {
    transport = makeTransport(endpoint.url, prefix, { partitions: 1 });
    const t = transport;
    const topics = [1, 2, 3, 4].map((n) => unique(`t${n}`));
    const logs = topics.map(() => new DeliveryLog());
    await Promise.all(topics.map((topic, i) => t.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: (logs[i] as DeliveryLog).onDelivery, onError: () => {} })));
    await Promise.all(topics.map((topic) => t.publish([{ id: `m-${topic}`, topic, key: undefined, headers: {}, body: body(topic) }])));
    for (const [i, topic] of topics.entries()) {
      const delivery = await (logs[i] as DeliveryLog).waitFor((d) => d.message.id === `m-${topic}`);
      await delivery.ack();
    }
    const admin = kafkaAdmin(endpoint.brokers);
    await admin.connect();
    try {
      const existing = await admin.listTopics();
      for (const topic of topics) expect(existing).toContain(`${prefix}${topic}`);
    } finally {
      await admin.disconnect();
    }
  });
});
