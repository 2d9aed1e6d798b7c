import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Delivery, Transport } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { bytes, cleanupPrefix, deliveryLog, makeTransport, testPrefix, uniqueTopic } from './helpers.js';

// Nothing listens on port 1: a check that reached the broker would fail with a connection error,
// not with the ConfigError these tests expect.
const NOWHERE = 'amqp://guest:guest@127.0.0.1:1/';
const message = (topic: string, id = 'n1') => ({ id, topic, key: undefined, headers: {}, body: bytes(id) });

describe('rabbitmq names: checked before any broker call', () => {
  const transports: Transport[] = [];
  const offline = (options: Record<string, unknown> = {}) => {
    const transport = makeTransport(NOWHERE, { connectTimeoutMs: 200, ...options });
    transports.push(transport);
    return transport;
  };
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });

  it('refuses a group with a dot (topic "a" group "b.c" would be the queue of topic "a.b" group "c")', async () => {
    const transport = offline();
    await expect(transport.ensureGroup('a', 'b.c')).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'group' });
    const subscribing = transport.subscribe({ topic: 'a', group: 'b.c', concurrency: 1, onDelivery: () => {}, onError: () => {} });
    await expect(subscribing).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'group' });
  });

  it('refuses topic names that reach the internal namespace or break the name grammar', async () => {
    const transport = offline();
    for (const topic of ['omnibus:delay', 'omnibus:router', ':x', '.hidden', 'has space', '']) {
      await expect(transport.publish([message(topic)]), topic).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'topic' });
      await expect(transport.ensureGroup(topic, 'g'), topic).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'topic' });
    }
  });

  it('refuses a delayed publish to a bad topic too', async () => {
    const transport = offline();
    await expect(transport.publish([{ ...message('omnibus:router'), delayMs: 1_000 }])).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'topic' });
  });

  it('refuses names over AMQP\'s limit with a ConfigError naming the field, instead of cutting or hashing them', async () => {
    const transport = offline({ prefix: 'app.' });
    const topic = `t${'x'.repeat(199)}`;
    // 4 + 200 + 1 + 60 = 265 bytes: over 253.
    await expect(transport.ensureGroup(topic, `g${'y'.repeat(59)}`)).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'group', message: expect.stringContaining('253') });
    // 64 + 200 = 264 bytes for the exchange alone.
    const longPrefix = offline({ prefix: 'p'.repeat(64) });
    await expect(longPrefix.publish([message(topic)])).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'topic' });
    // 4 + 200 + 1 + 48 = 253: exactly fits (the error above is about length, not the names).
    await expect(transport.ensureGroup(topic, `g${'y'.repeat(47)}`)).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });

  it('refuses topics RabbitMQ reserves (amq.*) without a prefix', async () => {
    await expect(offline().publish([message('amq.events')])).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'topic' });
  });

  it.each(['omnibus:', 'app.omnibus:', 'amq.app.'])('refuses the prefix %j', (prefix) => {
    expect(() => makeTransport(NOWHERE, { prefix })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'options.prefix' }));
  });
});

describeWithBroker('rabbitmq', 'rabbitmq names: look-alike topics and groups never leak into each other', (endpoint) => {
  const prefix = testPrefix('names');
  const transports: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  it('keeps every topic\'s plain and delayed messages and every group\'s delayed retries to itself', async () => {
    const transport = makeTransport(endpoint.url, { prefix });
    transports.push(transport);
    const x = uniqueTopic('look');
    // Each pair looks like another's queue, delay or retry object on some broker mapping.
    const pairs: [topic: string, group: string][] = [
      [x, 'g'],
      [x, 'g-retry'],
      [x, 'delay'],
      [`${x}.g`, 'retry'],
      [`${x}.delay`, 'g'],
      [`${x}.g.retry`, 'g'],
      [`${x}.dlq`, 'omnibus-dead-letter'],
      [`${x}.g-retry`, 'g'],
      [`${x}_g`, 'retry'],
    ];
    const logs = new Map<string, ReturnType<typeof deliveryLog>>();
    for (const [topic, group] of pairs) {
      // Every group nacks its own "retry" message once, with a delay: the retry must come back to it only.
      const settle = (delivery: Delivery) => (delivery.message.id.endsWith('/retry') && delivery.attempt === 1 ? delivery.nack({ delayMs: 50 }) : delivery.ack());
      const log = deliveryLog(settle);
      logs.set(`${topic} ${group}`, log);
      await transport.subscribe({ topic, group, concurrency: 4, onDelivery: log.onDelivery, onError: log.onError });
    }
    const topics = [...new Set(pairs.map(([topic]) => topic))];
    await transport.publish(topics.flatMap((topic) => [message(topic, `${topic}/plain`), message(topic, `${topic}/retry`)]));
    await transport.publish(topics.map((topic) => ({ ...message(topic, `${topic}/delayed`), delayMs: 50 })));

    for (const [topic, group] of pairs) {
      const log = logs.get(`${topic} ${group}`)!;
      // plain, retry (attempt 1), retry (attempt 2, after the nack), delayed.
      await log.waitFor((ds) => ds.length >= 4, `the four deliveries of ${topic} / ${group}`);
    }
    // A fence after everything arrived: a leaked copy would have been routed with the real one.
    await transport.publish(topics.map((topic) => message(topic, `${topic}/fence`)));
    for (const [topic, group] of pairs) {
      const log = logs.get(`${topic} ${group}`)!;
      await log.waitFor((ds) => ds.some((d) => d.message.id.endsWith('/fence')), `the fence of ${topic} / ${group}`);
      const seen = log.deliveries.map((d) => `${d.message.id}#${d.attempt}`).sort();
      expect(seen, `${topic} / ${group}`).toEqual([`${topic}/delayed#1`, `${topic}/fence#1`, `${topic}/plain#1`, `${topic}/retry#1`, `${topic}/retry#2`]);
      expect(log.deliveries.every((d) => d.message.topic === topic)).toBe(true);
      expect(log.errors).toEqual([]);
    }
  });
});
