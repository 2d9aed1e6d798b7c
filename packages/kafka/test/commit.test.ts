import { afterAll, afterEach, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin, type LogEntry, recordingLogger } from '@omnibus/test-support';
import { createNaming } from '../src/naming.js';
import { body, commitsOf, committedOffset, DeliveryLog, isCommit, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('commit');

describeWithBroker('kafka', 'kafka transport: commits', (endpoint) => {
  const admin = kafkaAdmin(endpoint.brokers);
  const open: Transport[] = [];
  const transport = (logger = recordingLogger(), options = {}) => {
    const t = makeTransport(endpoint.url, prefix, { partitions: 1, ...options }, logger);
    open.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await admin.disconnect();
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('commits only up to the oldest unsettled message, then past it once it is acked', async () => {
    await admin.connect();
    const logger = recordingLogger();
    const t = transport(logger);
    const topic = unique('held');
    const groupId = `${prefix}${topic}.g1`;
    const log = new DeliveryLog();
    await t.subscribe({ topic, group: 'g1', concurrency: 10, onDelivery: log.onDelivery, onError: () => {} });
    await t.publish(['m0', 'm1', 'm2', 'm3', 'm4'].map((id) => ({ id, topic, key: undefined, headers: {}, body: body(id) })));
    await log.waitForCount(5);
    const [held, ...rest] = log.deliveries;
    for (const delivery of rest) await delivery.ack();

    const mainCommit = (entry: LogEntry) => commitsOf(entry).find((c) => c.topic === `${prefix}${topic}`);
    // The four later acks are recorded: the delivery frontier (metadata) is at 5, the offset stays at 0.
    const frontier = await logger.waitFor((e) => isCommit(e) && mainCommit(e)?.metadata === 'omnibus:delivered=5', 20_000, { what: 'a commit recording the frontier' });
    expect(mainCommit(frontier)?.offset).toBe('0');
    expect(await committedOffset(admin, groupId, `${prefix}${topic}`, 0)).toBe('0');
    expect(logger.entries.filter(isCommit).flatMap(commitsOf).filter((c) => c.topic === `${prefix}${topic}` && c.offset !== '0')).toEqual([]);

    await held?.ack();
    await logger.waitFor((e) => isCommit(e) && mainCommit(e)?.offset === '5', 20_000, { what: 'the commit past the held message' });
    expect(await committedOffset(admin, groupId, `${prefix}${topic}`, 0)).toBe('5');
  });

  it('commits a nacked message once its retry is written, and redelivers it only when due', async () => {
    await admin.connect();
    const logger = recordingLogger();
    const t = transport(logger);
    const topic = unique('nacked');
    const log = new DeliveryLog();
    await t.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: () => {} });
    await t.publish([{ id: 'later', topic, key: 'k', headers: { a: '1' }, body: body('x') }]);
    const first = await log.waitFor((d) => d.message.id === 'later');
    const nackedAt = Date.now();
    await first.nack({ delayMs: 1_500, headers: { 'omnibus-note': 'n' } });
    // The main offset moves past it as soon as the retry record is stored…
    await logger.waitFor((e) => isCommit(e) && commitsOf(e).some((c) => c.topic === `${prefix}${topic}` && c.offset === '1'), 20_000, { what: 'the main-topic commit' });
    const retryTopic = createNaming({ prefix }).retryTopic(topic, 'g1');
    const stored = await admin.fetchTopicOffsets(retryTopic);
    expect(stored.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1);
    // …and the message comes back when due, with attempt 2 and the merged headers.
    const second = await log.waitFor((d) => d.message.id === 'later' && d.attempt === 2, 20_000);
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(1_500 - 50);
    expect(second.message.headers).toEqual({ a: '1', 'omnibus-note': 'n' });
    expect(second.message.key).toBe('k');
    expect(log.deliveries).toHaveLength(2);
    await second.ack();
    await logger.waitFor((e) => isCommit(e) && commitsOf(e).some((c) => c.topic === retryTopic && c.offset === '1'), 20_000, { what: 'the retry-topic commit' });
  });
});
