import { afterAll, afterEach, expect, it } from 'vitest';
import type { Delivery, Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, recordingLogger } from '@omnibus/test-support';
import { body, commitsOf, DeliveryLog, isAssignment, isCommit, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('slow');
const SESSION_TIMEOUT_MS = 6_000;

describeWithBroker('kafka', 'kafka transport: slow handlers', (endpoint) => {
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('keeps its membership while a handler runs longer than the session timeout', { timeout: 60_000 }, async () => {
    const logger = recordingLogger();
    const transport = makeTransport(endpoint.url, prefix, { partitions: 1, sessionTimeoutMs: SESSION_TIMEOUT_MS, heartbeatIntervalMs: 500 }, logger);
    open.push(transport);
    const topic = unique('slow');
    const log = new DeliveryLog();
    let slowAckedAt = 0;
    const onDelivery = (delivery: Delivery) => {
      log.onDelivery(delivery);
      // The "slow" handler works for 1.5 session timeouts; the others are quick.
      const workMs = delivery.message.id === 'slow' ? SESSION_TIMEOUT_MS * 1.5 : 0;
      setTimeout(() => {
        if (delivery.message.id === 'slow') slowAckedAt = Date.now();
        void delivery.ack();
      }, workMs);
    };
    await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery, onError: () => {} });
    await transport.publish([{ id: 'slow', topic, key: 'a', headers: {}, body: body('slow') }]);
    await log.waitFor((d) => d.message.id === 'slow');
    const startedAt = Date.now();
    // While "slow" runs, other keys keep flowing and their offsets are recorded.
    await transport.publish([{ id: 'fast', topic, key: 'b', headers: {}, body: body('fast') }]);
    await log.waitFor((d) => d.message.id === 'fast');
    await logger.waitFor((e) => isCommit(e) && commitsOf(e).some((c) => c.topic === `${prefix}${topic}` && c.offset === '2'), SESSION_TIMEOUT_MS * 4, { what: 'the commit past both messages' });
    expect(slowAckedAt - startedAt).toBeGreaterThan(SESSION_TIMEOUT_MS);

    // One assignment, no rebalance, no redelivery.
    expect(logger.entries.filter(isAssignment)).toHaveLength(1);
    expect(logger.entries.filter((e) => e.message === 'kafka: rebalance started')).toEqual([]);
    expect(log.deliveries.map((d) => d.message.id)).toEqual(['slow', 'fast']);
  });
});
