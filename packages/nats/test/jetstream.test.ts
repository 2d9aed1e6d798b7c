import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { isOmnibusError, type Transport } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { adminConnection, bytes, collector, deleteStreams, natsTransport, uniquePrefixes } from './helpers.js';

describeWithBroker('nats', 'nats transport on JetStream', (endpoint) => {
  const prefixes = uniquePrefixes('js');
  const opened: Transport[] = [];
  const open = async (options: NatsOptionsInput = {}): Promise<Transport> => {
    const transport = natsTransport(endpoint.url, { ...prefixes, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };
  // Dashes: the topic's stream is then `<streamPrefix>_<topic>` as it is.
  const topicName = (label: string) => uniqueName(label);

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  const streamInfo = async (stream: string) => {
    const nc = await adminConnection(endpoint.url);
    try {
      return await (await jetstreamManager(nc)).streams.info(stream);
    } finally {
      await nc.close();
    }
  };
  const consumerInfo = async (stream: string, consumer: string) => {
    const nc = await adminConnection(endpoint.url);
    try {
      return await (await jetstreamManager(nc)).consumers.info(stream, consumer);
    } finally {
      await nc.close();
    }
  };

  it('round-trips header names and values NATS cannot carry as they are', async () => {
    const transport = await open();
    const topic = topicName('headers');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: seen.onDelivery, onError: seen.onError });
    const headers = {
      crlf: 'a\r\nb\nc\rd',
      spaces: '  padded  ',
      tab: '\tx',
      unicode: 'ünïcødé ✓ 日本',
      marker: '=?b64?not really',
      empty: '',
      quotes: '"quoted" \'single\'',
      'Nats-Expected-Stream': 'must not reach the server as a directive',
      'Nats-Msg-Id': 'not the id',
      'Omnibus-Nats-Key': 'not the key',
      'with space': '1',
      'colon:name': '2',
      'ünï-name': '3',
      '': 'empty name',
      Case: 'upper',
      case: 'lower',
    };
    const id = 'id with spaces\r\nand a newline';
    await transport.publish([{ id, topic, key: ' key\nwith newline ', headers, body: bytes('payload') }]);
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the message');
    const [delivery] = seen.deliveries;
    expect(delivery?.message.id).toBe(id);
    expect(delivery?.message.key).toBe(' key\nwith newline ');
    expect(delivery?.message.headers).toEqual(headers);
    expect(new TextDecoder().decode(delivery?.message.body)).toBe('payload');
  });

  it('stores a message published twice with the same deduplicationId once (Nats-Msg-Id)', async () => {
    const transport = await open();
    const topic = topicName('dedup');
    await transport.ensureGroup(topic, 'g1');
    const message = { id: 'same-id', deduplicationId: 'same-id', topic, key: undefined, headers: {}, body: bytes('once') };
    await transport.publish([message]);
    await transport.publish([message, message]);
    await (await open()).publish([message]);
    const info = await streamInfo(`${prefixes.streamPrefix}_${topic}`);
    expect(info.state.messages).toBe(1);
    expect(info.config.duplicate_window).toBe(120_000_000_000);

    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'g1', concurrency: 4, onDelivery: seen.onDelivery, onError: seen.onError });
    await transport.publish([{ id: 'marker', topic, key: undefined, headers: {}, body: bytes('marker') }]);
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'marker'), 20_000, 'the marker');
    expect(seen.deliveries.map((d) => d.message.id).sort()).toEqual(['marker', 'same-id']);
  });

  it('creates a durable pull consumer per group: explicit acks, ack wait, max_ack_pending ≥ concurrency, no max_deliver', async () => {
    const transport = await open({ ackWaitMs: 7_000, maxAckPending: 5 });
    const topic = topicName('consumer');
    const sub = await transport.subscribe({ topic, group: 'wide', concurrency: 20, onDelivery: (d) => void d.ack(), onError: () => {} });
    const info = await consumerInfo(`${prefixes.streamPrefix}_${topic}`, 'wide');
    expect(info.config).toMatchObject({ durable_name: 'wide', ack_policy: 'explicit', deliver_policy: 'new', max_deliver: -1, max_ack_pending: 20, ack_wait: 7_000_000_000 });
    expect(info.config.filter_subject).toBe(`${prefixes.subjectPrefix}.${topic}`);
    expect(info.config.deliver_subject).toBeUndefined();
    const stream = await streamInfo(`${prefixes.streamPrefix}_${topic}`);
    expect(stream.config).toMatchObject({ storage: 'file', retention: 'interest', num_replicas: 1, subjects: [`${prefixes.subjectPrefix}.${topic}`] });
    await sub.close();
  });

  it('keeps a handler that outlives the ack wait from being redelivered meanwhile', async () => {
    const transport = await open({ ackWaitMs: 1_000 });
    const topic = topicName('long');
    const seen = collector();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    seen.handle = (d) => {
      if (d.message.id === 'long') void held.then(() => d.ack()).then(seen.notify);
      else void d.ack();
    };
    await transport.subscribe({ topic, group: 'g1', concurrency: 4, onDelivery: seen.onDelivery, onError: seen.onError });
    await transport.publish([{ id: 'long', topic, key: undefined, headers: {}, body: bytes('slow') }]);
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the long message');
    // The scenario itself: a handler busy for 3.5 ack waits. A redelivery would arrive
    // (the subscription has free slots) during this time.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    release();
    await transport.publish([{ id: 'marker', topic, key: undefined, headers: {}, body: bytes('marker') }]);
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'marker'), 20_000, 'the marker');
    expect(seen.deliveries.filter((d) => d.message.id === 'long').map((d) => d.attempt)).toEqual([1]);
  });

  it('emulates delayed publish with a delay stream moved by the transport', async () => {
    const publisher = await open();
    const consumer = await open();
    const topic = topicName('delay');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await consumer.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: seen.onDelivery, onError: seen.onError });
    const sentAt = Date.now();
    await publisher.publish([{ id: 'later', topic, key: 'k', headers: { h: 'v' }, body: bytes('later'), delayMs: 1_200 }]);
    // The publisher is gone before the message is due: the subscriber's transport moves it.
    await publisher.close();
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the delayed message');
    const [delivery] = seen.deliveries;
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1_200 - 50);
    expect(delivery?.message).toMatchObject({ id: 'later', key: 'k', headers: { h: 'v' } });
    expect(delivery?.attempt).toBe(1);
    const delayed = await streamInfo(`${prefixes.streamPrefix}__DELAYED`);
    expect(delayed.config).toMatchObject({ retention: 'workqueue', storage: 'file' });
  });

  it('rejects topics with empty subject tokens', async () => {
    const transport = await open();
    const base = topicName('empty');
    await expect(transport.publish([{ id: '1', topic: `${base}..y`, key: undefined, headers: {}, body: bytes('') }])).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'topic' });
  });

  it('refuses a group name that belongs to a foreign consumer of the stream', async () => {
    const transport = await open();
    const topic = topicName('foreign');
    await transport.ensureGroup(topic, 'mine');
    const nc = await adminConnection(endpoint.url);
    try {
      await (await jetstreamManager(nc)).consumers.add(`${prefixes.streamPrefix}_${topic}`, { durable_name: 'theirs', ack_policy: 'explicit' as never, filter_subject: `${prefixes.subjectPrefix}.${topic}.other` });
    } catch {
      // A filter outside the stream's subject may be refused: then a push consumer shows the same.
      await (await jetstreamManager(nc)).consumers.add(`${prefixes.streamPrefix}_${topic}`, { durable_name: 'theirs', ack_policy: 'explicit' as never, deliver_subject: 'elsewhere' });
    } finally {
      await nc.close();
    }
    const error = await transport.ensureGroup(topic, 'theirs').catch((e: unknown) => e);
    expect(isOmnibusError(error, 'CONFIG_INVALID')).toBe(true);
  });

  describe('options', () => {
    it('reject a bad option with a ConfigError naming the field', () => {
      expect(() => natsTransport(endpoint.url, { ackWaitMs: 10 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'options.ackWaitMs' }));
      expect(() => natsTransport(endpoint.url, { streamPrefix: 'has.dot' })).toThrow(expect.objectContaining({ field: 'options.streamPrefix' }));
      expect(() => natsTransport(endpoint.url, { subjectPrefix: 'wild.*' })).toThrow(expect.objectContaining({ field: 'options.subjectPrefix' }));
      expect(() => natsTransport(endpoint.url, { storage: 'disk' } as never)).toThrow(expect.objectContaining({ field: 'options.storage' }));
      expect(() => natsTransport(endpoint.url, { unknownThing: 1 } as never)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      expect(() => natsTransport('amqp://127.0.0.1', {})).toThrow(expect.objectContaining({ field: 'url' }));
    });

    it('use memory storage and declare no persistence when asked', async () => {
      const transport = await open({ storage: 'memory' });
      expect(transport.capabilities.persistence).toBe(false);
      const topic = topicName('memory');
      await transport.ensureGroup(topic, 'g1');
      expect((await streamInfo(`${prefixes.streamPrefix}_${topic}`)).config.storage).toBe('memory');
    });
  });
});
