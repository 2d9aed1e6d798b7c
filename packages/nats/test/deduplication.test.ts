// Issue 12, item 1: JetStream stores one message per Nats-Msg-Id within the duplicate window.
// Only a publisher's own repeats of one message may be deduplicated; what core publishes on its
// own (no deduplicationId: dead letters, retries, replays) and what the transport moves (delayed
// messages) must never be dropped as a duplicate of something else.
import { afterAll, afterEach, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { isOmnibusError, silentLogger, type OutgoingMessage, type Transport } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { describeWithBroker, TcpProxy, uniqueName, viaProxy } from '@omnibus/test-support';
import { Link } from '../src/link.js';
import { Naming } from '../src/naming.js';
import { parseNatsOptions } from '../src/options.js';
import { Publisher } from '../src/publisher.js';
import { Topology } from '../src/topology.js';
import { adminConnection, bytes, collector, deleteStreams, natsTransport, serverOf, uniquePrefixes } from './helpers.js';

describeWithBroker('nats', 'nats transport: deduplication', (endpoint) => {
  const prefixes = uniquePrefixes('dedup');
  const opened: Transport[] = [];
  const proxies: TcpProxy[] = [];
  const open = async (options: NatsOptionsInput = {}, url = endpoint.url): Promise<Transport> => {
    const transport = natsTransport(url, { ...prefixes, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };
  const message = (topic: string, id: string, fields: Partial<OutgoingMessage> = {}): OutgoingMessage => ({ id, topic, key: undefined, headers: {}, body: bytes(id), ...fields });
  /** How many messages the topic's stream ever stored (acked ones are gone with interest retention). */
  const storedIn = async (topic: string): Promise<number> => {
    const nc = await adminConnection(endpoint.url);
    try {
      return (await (await jetstreamManager(nc)).streams.info(`${prefixes.streamPrefix}_${topic}`)).state.last_seq;
    } finally {
      await nc.close();
    }
  };

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
    await Promise.allSettled(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it('keeps every copy core publishes on its own, whatever id the stream has seen (two groups dead-lettering one message)', async () => {
    const transport = await open();
    const topic = uniqueName('dlq');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'reader', concurrency: 8, onDelivery: seen.onDelivery, onError: seen.onError });
    // The original, then the dead-letter copy of each of two groups: the same id, no deduplicationId.
    await transport.publish([message(topic, 'original', { deduplicationId: 'original' })]);
    await transport.publish([message(topic, 'original', { headers: { group: 'a' } })]);
    await transport.publish([message(topic, 'original', { headers: { group: 'b' } })]);
    await seen.until(() => seen.deliveries.length >= 3, 20_000, 'three copies');
    expect(seen.deliveries.map((d) => d.message.id)).toEqual(['original', 'original', 'original']);
    expect(seen.deliveries.map((d) => d.message.headers.group)).toEqual([undefined, 'a', 'b']);
    expect(await storedIn(topic)).toBe(3);
  });

  it('still stores a repeated publish of one deduplicationId once', async () => {
    const transport = await open();
    const topic = uniqueName('repeat');
    await transport.ensureGroup(topic, 'g1');
    const same = message(topic, 'id-1', { deduplicationId: 'id-1' });
    await transport.publish([same]);
    await transport.publish([same, same]);
    expect(await storedIn(topic)).toBe(1);
  });

  it('moves a due delayed message even when its id is already in the topic stream', async () => {
    const transport = await open();
    const topic = uniqueName('delayed');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'g1', concurrency: 8, onDelivery: seen.onDelivery, onError: seen.onError });
    // A user publish, then core's own delayed republish of that message (a retry), twice.
    await transport.publish([message(topic, 'm', { deduplicationId: 'm' })]);
    await transport.publish([message(topic, 'm', { delayMs: 200, headers: { copy: '1' } })]);
    await transport.publish([message(topic, 'm', { delayMs: 200, headers: { copy: '2' } })]);
    await seen.until(() => seen.deliveries.length >= 3, 20_000, 'the message and both delayed copies');
    expect(seen.deliveries.map((d) => d.message.id)).toEqual(['m', 'm', 'm']);
    expect(seen.deliveries.map((d) => d.message.headers.copy).sort()).toEqual(['1', '2', undefined].sort());
    expect(await storedIn(topic)).toBe(3);
  });

  it('keeps the id of a delayed user publish when it is moved', async () => {
    const transport = await open();
    const topic = uniqueName('delayed-id');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: seen.onDelivery, onError: seen.onError });
    await transport.publish([message(topic, 'user id ü', { deduplicationId: 'user id ü', delayMs: 100 })]);
    await seen.until(() => seen.deliveries.length >= 1, 20_000, 'the delayed message');
    expect(seen.deliveries[0]?.message.id).toBe('user id ü');
  });

  it("stores a publish retried after a lost PubAck once, for a user's message and for core's own", async () => {
    const [host, port] = serverOf(endpoint.url).split(':') as [string, string];
    const proxy = await TcpProxy.start({ host, port: Number(port) });
    proxies.push(proxy);
    const transport = await open({ publishTimeoutMs: 200, publishRetries: 30 }, viaProxy(endpoint.url, proxy));
    const topic = uniqueName('retried');
    await transport.ensureGroup(topic, 'g1');
    proxy.stall();
    const published = transport.publish([message(topic, 'u', { deduplicationId: 'u' }), message(topic, 'c')]);
    // The scenario: no PubAck for several publish timeouts, so the transport sends each message
    // again; when the network flows again the server gets every attempt, in order.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    proxy.resume();
    await published;
    expect(await storedIn(topic)).toBe(2);
  });

  it('rejects a PubAck that calls a message without deduplicationId a duplicate, instead of taking it for success', async () => {
    // The transport makes a fresh Nats-Msg-Id for such a message, so only another producer reusing
    // it can make this happen: here the test stores that id first, and sends through the publisher.
    const nc = await adminConnection(endpoint.url);
    try {
      const options = parseNatsOptions({ ...prefixes });
      const naming = new Naming(options.streamPrefix, options.subjectPrefix);
      const jsm = await jetstreamManager(nc);
      const topology = new Topology(() => jsm, naming, options);
      const js = jetstream(nc);
      const link = new Link(nc, silentLogger);
      const publisher = new Publisher(() => js, naming, topology, options, [], async () => {}, () => link, () => 1_048_576);
      const topic = uniqueName('foreign-dup');
      await topology.ensureGroup(topic, 'g1');
      const stream = naming.stream(topic);
      const first = natsHeaders();
      first.append('Nats-Msg-Id', 'taken');
      await js.publish(naming.subject(topic), bytes('foreign'), { headers: first });
      const headers = natsHeaders();
      headers.append('Nats-Msg-Id', 'taken');
      headers.append('Nats-Expected-Stream', stream);
      const error = await publisher
        .send({ topic, subject: naming.subject(topic), stream, deduplication: { kind: 'single', msgId: 'taken' }, headers, body: bytes('ours'), ensure: async () => {} })
        .catch((e: unknown) => e);
      expect(isOmnibusError(error, 'PUBLISH_FAILED')).toBe(true);
      expect((error as Error).message).toMatch(/duplicate/);
      // The same PubAck for a repeatable id (the caller's own repeat) is success.
      const again = await publisher.send({ topic, subject: naming.subject(topic), stream, deduplication: { kind: 'repeatable', msgId: 'taken' }, headers, body: bytes('ours'), ensure: async () => {} });
      expect(again.duplicate).toBe(true);
    } finally {
      await nc.close();
    }
  });
});
