// Issue 12, item 2: no user topic or group name may map onto another topic's stream, subject
// or consumer, nor onto the transport's own delay stream. Topics whose names differ only where
// stream names fold (`.` vs `_`) are separate streams; an over-long name is a ConfigError.
import { afterAll, afterEach, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Delivery, Transport } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { describeWithBroker } from '@omnibus/test-support';
import { adminConnection, bytes, collector, deleteStreams, natsTransport, uniquePrefixes } from './helpers.js';

describeWithBroker('nats', 'nats transport: names', (endpoint) => {
  const prefixes = uniquePrefixes('names');
  const opened: Transport[] = [];
  const open = async (options: NatsOptionsInput = {}): Promise<Transport> => {
    const transport = natsTransport(endpoint.url, { ...prefixes, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it('keeps look-alike topics and groups apart: each gets only its own messages', async () => {
    const transport = await open();
    const base = `n${Date.now().toString(36)}`;
    // Names that fold together in stream names, look like internal names, or nest.
    const topics = [`${base}.x`, `${base}_x`, `${base}-x`, `${base}.x.delay`, `${base}.x.g.retry`, `${base}.x_g`, 'DELAYED', `DELAYED.${base}`, `delayed.${base}.x`];
    const groups = ['g', 'g_retry', 'g-retry', 'omnibus-delay-mover'];
    const received = new Map<string, Delivery[]>();
    const seen = collector();
    for (const topic of topics) {
      for (const group of groups) {
        const key = `${topic} / ${group}`;
        received.set(key, []);
        await transport.subscribe({
          topic,
          group,
          concurrency: 4,
          onDelivery: (d) => {
            received.get(key)?.push(d);
            void d.ack();
            seen.onDelivery(d);
          },
          onError: seen.onError,
        });
      }
    }
    // One message per topic, one delayed message to the first topic (it waits in the delay stream).
    await transport.publish(topics.map((topic) => ({ id: `to ${topic}`, deduplicationId: `to ${topic}`, topic, key: undefined, headers: {}, body: bytes(topic) })));
    await transport.publish([{ id: 'delayed', deduplicationId: 'delayed', topic: topics[0] as string, key: undefined, headers: {}, body: bytes('later'), delayMs: 100 }]);
    const expected = topics.length * groups.length + groups.length;
    await seen.until(() => seen.deliveries.length >= expected, 30_000, `${expected} deliveries`);
    for (const topic of topics) {
      for (const group of groups) {
        const ids = (received.get(`${topic} / ${group}`) ?? []).map((d) => d.message.id).sort();
        expect(ids, `${topic} / ${group}`).toEqual(topic === topics[0] ? ['delayed', `to ${topic}`] : [`to ${topic}`]);
      }
    }
    expect(seen.deliveries).toHaveLength(expected);

    // One stream per topic, each with the documented name.
    const nc = await adminConnection(endpoint.url);
    try {
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const name of jsm.streams.names()) if (name.startsWith(`${prefixes.streamPrefix}_`)) names.push(name);
      expect(names).toContain(`${prefixes.streamPrefix}_${base}_x`);
      expect(names).toContain(`${prefixes.streamPrefix}_${base}~x`);
      expect(names).toContain(`${prefixes.streamPrefix}_DELAYED`);
      expect(names).toContain(`${prefixes.streamPrefix}__DELAYED`);
      expect(new Set(names).size).toBe(topics.length + 1);
    } finally {
      await nc.close();
    }
  });

  it('refuses a topic whose stream name would be over 255 characters with a ConfigError naming the topic, at publish and subscribe', async () => {
    const streamPrefix = `L${'x'.repeat(63)}`;
    const transport = await open({ streamPrefix });
    const topic = `t${'a'.repeat(199)}`;
    const refused = { code: 'CONFIG_INVALID', field: 'topic' };
    await expect(transport.publish([{ id: '1', topic, key: undefined, headers: {}, body: bytes('') }])).rejects.toMatchObject(refused);
    await expect(transport.publish([{ id: '1', topic, key: undefined, headers: {}, body: bytes(''), delayMs: 10 }])).rejects.toMatchObject(refused);
    await expect(transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: () => {}, onError: () => {} })).rejects.toMatchObject(refused);
    await expect(transport.ensureGroup(topic, 'g')).rejects.toThrow(/255/);
    // The longest topic that fits works.
    const longest = `t${'a'.repeat(255 - streamPrefix.length - 2)}`;
    await transport.ensureGroup(longest, 'g');
    await transport.publish([{ id: '2', topic: longest, key: undefined, headers: {}, body: bytes('') }]);
    await deleteStreams(endpoint.url, streamPrefix);
  });
});
