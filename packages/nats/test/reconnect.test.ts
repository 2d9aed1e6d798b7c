import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { isOmnibusError, type Transport } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { brokerAddress, describeWithBroker, TcpProxy, uniqueName, viaProxy } from '@omnibus/test-support';
import { bytes, collector, deleteStreams, natsTransport, uniquePrefixes } from './helpers.js';

/**
 * The consumer connects through a proxy that can break its connection; the
 * publisher connects directly. These are the "stall after reconnect" cases: a pull
 * request lost with the connection must be replaced at once, not when it expires.
 */
describeWithBroker('nats', 'nats transport: lost connections', (endpoint) => {
  const prefixes = uniquePrefixes('reconnect');
  let proxy: TcpProxy;
  let proxyUrl: string;
  const opened: Transport[] = [];
  const open = async (url: string, options: NatsOptionsInput = {}): Promise<Transport> => {
    const transport = natsTransport(url, { ...prefixes, reconnectTimeWaitMs: 100, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };
  const topicName = (label: string) => uniqueName(label).replace(/-/g, '_');
  const message = (topic: string, id: string) => ({ id, topic, key: undefined, headers: {}, body: bytes(id) });

  beforeAll(async () => {
    proxy = await TcpProxy.start(brokerAddress(endpoint.url, 4222));
    proxyUrl = viaProxy(endpoint.url, proxy);
  });
  afterEach(async () => {
    proxy?.accept();
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await proxy?.close();
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it('resumes consuming right after a cut connection, long before the lost pull request would expire', async () => {
    // Pulls last 60 s and heartbeats come every 5 s: only re-pulling on reconnect delivers within 10 s.
    const consumer = await open(proxyUrl, { pullExpiresMs: 60_000 });
    const publisher = await open(endpoint.url);
    const topic = topicName('cut');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await consumer.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: seen.onDelivery, onError: seen.onError });
    await publisher.publish([message(topic, 'before')]);
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the first message');

    const connectionsBefore = proxy.counters.accepted;
    expect(proxy.cutAll()).toBeGreaterThan(0);
    await seen.until(() => seen.errors.some((e) => isOmnibusError(e, 'CONNECTION_FAILED')), 10_000, 'the lost connection reported to onError');
    await publisher.publish([message(topic, 'after')]);
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'after'), 10_000, 'the message published after the cut');
    expect(proxy.counters.accepted).toBeGreaterThan(connectionsBefore);
  });

  it('notices a half-open connection by the missing heartbeats and reconnects', async () => {
    // Client pings every 60 s would notice in 2 minutes; the pull heartbeats (0.5 s) must do it in seconds.
    const consumer = await open(proxyUrl, { pullExpiresMs: 3_000, requestTimeoutMs: 1_000, pingIntervalMs: 60_000, ackWaitMs: 2_000 });
    const publisher = await open(endpoint.url);
    const topic = topicName('halfopen');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await consumer.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: seen.onDelivery, onError: seen.onError });
    await publisher.publish([message(topic, 'before')]);
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the first message');

    const connectionsBefore = proxy.counters.accepted;
    expect(proxy.blackhole()).toBeGreaterThan(0);
    // The server still sees the old connection and its pull: this one is delivered into the void.
    await publisher.publish([message(topic, 'swallowed')]);
    await seen.until(() => seen.errors.some((e) => /connection to NATS lost/.test(e.message)), 15_000, 'the forced reconnect');
    expect(seen.errors.some((e) => /no message or heartbeat/.test(e.message))).toBe(true);
    await publisher.publish([message(topic, 'after')]);
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'after'), 10_000, 'the message published after the reconnect');
    expect(proxy.counters.accepted).toBeGreaterThan(connectionsBefore);
    // The swallowed delivery comes again once its ack wait expired.
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'swallowed'), 20_000, 'the swallowed message');
  });

  it('turns an ack after a lost connection into a no-op, so the message is redelivered', async () => {
    const consumer = await open(proxyUrl, { ackWaitMs: 1_500 });
    const publisher = await open(endpoint.url);
    const topic = topicName('staleack');
    const seen = collector();
    await consumer.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: seen.onDelivery, onError: seen.onError });
    await publisher.publish([message(topic, 'm1')]);
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the message');
    const [first] = seen.deliveries;

    proxy.cutAll();
    await seen.until(() => seen.errors.some((e) => isOmnibusError(e, 'CONNECTION_FAILED')), 10_000, 'the lost connection reported to onError');
    await first?.ack();
    await seen.until(() => seen.deliveries.length >= 2, 20_000, 'the redelivery');
    const second = seen.deliveries[1];
    expect(second?.message.id).toBe('m1');
    expect(second?.attempt).toBe(2);
    await second?.ack();

    seen.handle = (d) => void d.ack();
    await publisher.publish([message(topic, 'marker')]);
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'marker'), 20_000, 'the marker');
    expect(seen.deliveries.map((d) => d.message.id)).toEqual(['m1', 'm1', 'marker']);
  });

  it('rejects a publish with a PublishError caused by a ConnectionError while the server stays unreachable', async () => {
    const publisher = await open(proxyUrl, { publishTimeoutMs: 300, publishRetries: 2 });
    const topic = topicName('down');
    await publisher.ensureGroup(topic, 'g1');
    proxy.refuse();
    proxy.cutAll();
    const startedAt = Date.now();
    const error: unknown = await publisher.publish([message(topic, 'never')]).catch((e: unknown) => e);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(isOmnibusError(error, 'PUBLISH_FAILED')).toBe(true);
    expect(isOmnibusError((error as Error).cause, 'CONNECTION_FAILED')).toBe(true);
  });
});
