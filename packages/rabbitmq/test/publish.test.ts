import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { brokerAddress, describeWithBroker, recordingLogger, TcpProxy, viaProxy } from '@omnibus/test-support';
import { bytes, cleanupPrefix, makeTransport, rawConnection, testPrefix, uniqueTopic, type Raw } from './helpers.js';

describeWithBroker('rabbitmq', 'rabbitmq publishing', (endpoint) => {
  const prefix = testPrefix('pub');
  const transports: Transport[] = [];
  const proxies: TcpProxy[] = [];
  let raw: Raw;
  const open = (options: Record<string, unknown> = {}, logger = recordingLogger(), url = endpoint.url) => {
    const transport = makeTransport(url, { prefix, ...options }, logger);
    transports.push(transport);
    return transport;
  };
  const startProxy = async () => {
    const proxy = await TcpProxy.start(brokerAddress(endpoint.url, 5672));
    proxies.push(proxy);
    return proxy;
  };
  const messages = (topic: string, count: number, size = 16) =>
    Array.from({ length: count }, (_, i) => ({ id: `m-${i}`, topic, key: undefined, headers: {}, body: new Uint8Array(size).fill(i % 256) }));
  const queueDepth = async (queue: string) => {
    const channel = await raw.channel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  };

  beforeAll(async () => {
    raw = await rawConnection(endpoint.url);
  });
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
    await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await raw?.close();
    await cleanupPrefix(endpoint.url, prefix);
  });

  it('resolves only when the broker holds every message (publisher confirms)', async () => {
    const transport = open();
    const topic = uniqueTopic('confirm');
    await transport.ensureGroup(topic, 'g1');
    await transport.publish(messages(topic, 300));
    // No waiting: a confirmed message is already in its queue.
    expect(await queueDepth(`${prefix}${topic}.g1`)).toBe(300);
  });

  it('pauses on a full write buffer until drain, then sends the rest (a burst does not pile up in memory)', async () => {
    const proxy = await startProxy();
    const logger = recordingLogger();
    const transport = open({ publishWindow: 65_535, publishWindowBytes: 2 ** 40 }, logger, viaProxy(endpoint.url, proxy));
    const topic = uniqueTopic('drain');
    await transport.ensureGroup(topic, 'g1');
    proxy.stall('toBroker'); // the broker stops reading: socket and amqplib buffers fill up
    const total = 20_000;
    const publishing = transport.publish(messages(topic, total, 1_024));
    const paused = await logger.waitFor(/paused until drain/, 30_000);
    // Sending stopped long before the whole batch was encoded into frames.
    expect(paused.fields.inflight as number).toBeLessThan(total / 2);
    expect(paused.fields.queued as number).toBeGreaterThan(0);
    proxy.resume();
    await publishing;
    expect(logger.count(/publishing resumed/)).toBeGreaterThanOrEqual(1);
    expect(await queueDepth(`${prefix}${topic}.g1`)).toBe(total);
  });

  it('keeps publish order with a window of one message', async () => {
    const transport = open({ publishWindow: 1, publishWindowBytes: 1 });
    const topic = uniqueTopic('window');
    await transport.ensureGroup(topic, 'g1');
    await transport.publish(messages(topic, 100));
    const channel = await raw.channel();
    const ids: string[] = [];
    for (let i = 0; i < 100; i += 1) {
      const got = await channel.get(`${prefix}${topic}.g1`, { noAck: true });
      if (got) ids.push(got.properties.messageId as string);
    }
    await channel.close();
    expect(ids).toEqual(messages(topic, 100).map((m) => m.id));
  });

  it('rejects with a PublishError when the broker nacks (queue full, reject-publish)', async () => {
    const transport = open();
    const topic = uniqueTopic('nacked');
    await transport.ensureGroup(topic, 'g1');
    // A second, full queue on the topic: RabbitMQ nacks what it cannot enqueue there.
    const channel = await raw.channel();
    await channel.assertQueue(`${prefix}${topic}.full`, { durable: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    await channel.bindQueue(`${prefix}${topic}.full`, `${prefix}${topic}`, '#');
    await channel.close();
    await expect(transport.publish(messages(topic, 1))).rejects.toMatchObject({ name: 'PublishError', code: 'PUBLISH_FAILED', topic });
    const error = await transport.publish(messages(topic, 3)).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'PUBLISH_FAILED', message: expect.stringMatching(/3 of 3 messages were not accepted.*basic\.nack/) });
    // The transport keeps working for other topics.
    const fine = uniqueTopic('fine');
    await transport.ensureGroup(fine, 'g1');
    await transport.publish(messages(fine, 2));
    expect(await queueDepth(`${prefix}${fine}.g1`)).toBe(2);
  });

  it('rejects with a PublishError after publishTimeoutMs while the broker is unreachable', async () => {
    const proxy = await startProxy();
    const transport = open({ publishTimeoutMs: 500, connectTimeoutMs: 400 }, recordingLogger(), viaProxy(endpoint.url, proxy));
    const topic = uniqueTopic('timeout');
    await transport.ensureGroup(topic, 'g1');
    await proxy.close(); // connection dropped and no way back
    const started = Date.now();
    await expect(transport.publish(messages(topic, 5))).rejects.toMatchObject({ code: 'PUBLISH_FAILED' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('refuses a header table amqplib cannot encode (over 64 KiB) before sending anything of the batch', async () => {
    const transport = open();
    const topic = uniqueTopic('huge-headers');
    await transport.ensureGroup(topic, 'g1');
    const huge = { id: 'h', topic, key: undefined, headers: { big: 'x'.repeat(70_000) }, body: bytes('x') };
    await expect(transport.publish([...messages(topic, 1), huge])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', index: 1 });
    await transport.publish(messages(topic, 1));
    expect(await queueDepth(`${prefix}${topic}.g1`)).toBe(1);
  });

  it('keeps room in the header table for dead-letter headers on a user publish, not on what core publishes itself', async () => {
    const transport = open();
    const topic = uniqueTopic('header-room');
    await transport.ensureGroup(topic, 'g1');
    const near = { id: 'n', topic, key: undefined, headers: { big: 'x'.repeat(62_000) }, body: bytes('x') };
    // A user's publish (core sets deduplicationId): its dead-letter copy would no longer fit.
    await expect(transport.publish([{ ...near, deduplicationId: 'n' }])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    // Core's own (a dead-letter copy, no deduplicationId) may use the room.
    await transport.publish([near]);
    expect(await queueDepth(`${prefix}${topic}.g1`)).toBe(1);
  });

  it('refuses a delay RabbitMQ cannot express before sending anything', async () => {
    const transport = open();
    await expect(transport.publish([{ ...messages(uniqueTopic('too-late'), 1)[0]!, delayMs: 30 * 24 * 3_600_000 }])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      field: 'delayMs',
    });
  });
});
