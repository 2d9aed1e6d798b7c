import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { StreamInfo } from '@nats-io/jetstream';
import { isOmnibusError, Signal, silentLogger, type Logger, type OutgoingMessage, type TopicBound, type Transport } from '@omnibus/core';
import { createTransport, type NatsOptionsInput } from '@omnibus/nats';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { keepsBytesBound } from '../src/bound.js';
import { adminConnection, bytes, collector, deleteStreams, uniquePrefixes, withJsm } from './helpers.js';

const message = (topic: string, id: string, fields: Partial<OutgoingMessage> = {}): OutgoingMessage => ({ id, topic, key: undefined, headers: {}, body: bytes(id), ...fields });

/** What the transport was told about a bounded topic, as core tells it (once, before first use). */
async function declare(transport: Transport, topic: string, bound: TopicBound): Promise<void> {
  if (!transport.declareTopic) throw new Error('the nats transport has no declareTopic');
  await transport.declareTopic(topic, { bound });
}

describeWithBroker('nats', 'nats transport: bounded topics', (endpoint) => {
  const prefixes = uniquePrefixes('bound');
  const opened: Transport[] = [];
  const open = async (options: NatsOptionsInput = {}, logger: Logger = silentLogger): Promise<Transport> => {
    const transport = createTransport({ url: endpoint.url, options: { ...prefixes, ...options } as Record<string, unknown>, logger });
    opened.push(transport);
    await transport.connect();
    return transport;
  };
  const streamOf = (topic: string) => `${prefixes.streamPrefix}_${topic}`;
  const streamInfo = (topic: string): Promise<StreamInfo> => withJsm(endpoint.url, (jsm) => jsm.streams.info(streamOf(topic)));
  const serverVersion = async (): Promise<string | undefined> => {
    const nc = await adminConnection(endpoint.url);
    try {
      return nc.info?.version;
    } finally {
      await nc.close();
    }
  };

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it('gives a bounded topic an interest stream with the bound as limits, whatever options.retention says', async () => {
    const transport = await open({ retention: 'limits' });
    const rejecting = uniqueName('reject');
    const dropping = uniqueName('drop');
    const plain = uniqueName('plain');
    await declare(transport, rejecting, { maxMessages: 5, overflow: 'reject' });
    await declare(transport, dropping, { maxMessages: 7, overflow: 'drop-oldest' });
    await transport.ensureGroup(plain, 'g');
    expect((await streamInfo(rejecting)).config).toMatchObject({ retention: 'interest', max_msgs: 5, max_bytes: -1, discard: 'new' });
    expect((await streamInfo(dropping)).config).toMatchObject({ retention: 'interest', max_msgs: 7, discard: 'old' });
    // An unbounded topic keeps the transport's options.
    expect((await streamInfo(plain)).config).toMatchObject({ retention: 'limits', max_msgs: -1, discard: 'old' });
    expect(transport.capabilities.boundedTopics).toMatchObject({ reject: 'native', dropOldest: 'native' });
  });

  it('rejects a publish to a full topic with QUEUE_FULL at once, sent once (never retried)', async () => {
    const transport = await open({ publishRetries: 3 });
    const topic = uniqueName('full');
    await declare(transport, topic, { maxMessages: 2, overflow: 'reject' });
    await transport.ensureGroup(topic, 'g');
    // Every publish the server receives on the subject, retries included.
    const nc = await adminConnection(endpoint.url);
    try {
      let sent = 0;
      nc.subscribe(`${prefixes.subjectPrefix}.${topic}`, {
        callback: () => {
          sent += 1;
        },
      });
      await nc.flush();
      await transport.publish([message(topic, 'a')]);
      await transport.publish([message(topic, 'b')]);
      const error = await transport.publish([message(topic, 'c')]).catch((e: unknown) => e);
      expect(isOmnibusError(error, 'QUEUE_FULL')).toBe(true);
      expect(error).toMatchObject({ topic });
      expect(String((error as Error).message)).toContain('maximum messages exceeded');
      // The refused publish was the last thing sent; a flush makes every copy of it arrive here.
      await nc.flush();
      expect(sent).toBe(3);
    } finally {
      await nc.close();
    }
    expect((await streamInfo(topic)).state.messages).toBe(2);
  });

  it('stores what fits of a batch and rejects the rest with QUEUE_FULL', async () => {
    const transport = await open();
    const topic = uniqueName('batch');
    await declare(transport, topic, { maxMessages: 3, overflow: 'reject' });
    await transport.ensureGroup(topic, 'g');
    const error = await transport.publish(['1', '2', '3', '4', '5'].map((id) => message(topic, id))).catch((e: unknown) => e);
    expect(isOmnibusError(error, 'QUEUE_FULL')).toBe(true);
    expect(String((error as Error).message)).toContain('2 of 5 messages refused');
    expect((await streamInfo(topic)).state.messages).toBe(3);
  });

  it('brings an existing stream to the bound (stream update), keeping its messages', async () => {
    const transport = await open();
    const topic = uniqueName('update');
    await transport.ensureGroup(topic, 'g');
    await transport.publish([message(topic, 'a'), message(topic, 'b')]);
    await declare(transport, topic, { maxMessages: 10, overflow: 'reject' });
    const info = await streamInfo(topic);
    expect(info.config).toMatchObject({ max_msgs: 10, discard: 'new' });
    expect(info.state.messages).toBe(2);
    // Another process declaring another bound: the latest wins.
    await declare(await open(), topic, { maxMessages: 4, overflow: 'drop-oldest' });
    expect((await streamInfo(topic)).config).toMatchObject({ max_msgs: 4, discard: 'old' });
  });

  it('refuses a reject bound below what the stream holds (the server would delete the oldest), changing nothing', async () => {
    const transport = await open();
    const topic = uniqueName('over');
    await transport.ensureGroup(topic, 'g');
    await transport.publish(['1', '2', '3', '4', '5'].map((id) => message(topic, id)));
    const error = await declare(transport, topic, { maxMessages: 3, overflow: 'reject' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'bound' });
    expect(String((error as Error).message)).toContain('holds 5 messages');
    const info = await streamInfo(topic);
    expect(info.state.messages).toBe(5);
    expect(info.config.max_msgs).toBe(-1);
  });

  it('refuses to bound a stream with limits retention (JetStream cannot change retention)', async () => {
    const topic = uniqueName('limits');
    await (await open({ retention: 'limits' })).ensureGroup(topic, 'g');
    const error = await declare(await open(), topic, { maxMessages: 3, overflow: 'reject' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'bound' });
    expect(String((error as Error).message)).toContain('limits retention');
    expect((await streamInfo(topic)).config).toMatchObject({ retention: 'limits', max_msgs: -1 });
  });

  it('bounds bytes only where the server refuses exactly at max_bytes', async () => {
    const version = await serverVersion();
    const exact = keepsBytesBound(version);
    const transport = await open();
    expect(transport.capabilities.boundedTopics?.maxBytes).toBe(exact);
    const topic = uniqueName('bytes');
    const declared = declare(transport, topic, { maxBytes: 4_096, overflow: 'reject' });
    if (exact) {
      await declared;
      expect((await streamInfo(topic)).config).toMatchObject({ max_bytes: 4_096, discard: 'new' });
    } else {
      await expect(declared).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'bound.maxBytes' });
      // options.maxBytes would become a refusing limit under discard: new too.
      const withOption = await open({ maxBytes: 1_000_000 });
      await expect(declare(withOption, uniqueName('bytes-option'), { maxMessages: 5, overflow: 'reject' })).rejects.toMatchObject({ field: 'bound' });
    }
    // drop-oldest by bytes is discard: old, exact on every version (the capability is one flag for both policies).
    const dropping = uniqueName('bytes-drop');
    await declare(transport, dropping, { maxBytes: 4_096, overflow: 'drop-oldest' });
    expect((await streamInfo(dropping)).config).toMatchObject({ max_bytes: 4_096, discard: 'old' });
  });

  it('keeps a due delayed message in the delay stream while its topic is full, and delivers it once there is room', async () => {
    const refusedMove = new Signal();
    let refusals = 0;
    const logger: Logger = {
      ...silentLogger,
      warn: (fields: Record<string, unknown> | string, text?: string) => {
        if (typeof fields !== 'string' && text?.includes('wait in the delay stream for room') === true && fields.topic !== undefined) {
          refusals += 1;
          refusedMove.notify();
        }
      },
    };
    const transport = await open({}, logger);
    const topic = uniqueName('delayed');
    await declare(transport, topic, { maxMessages: 1, overflow: 'reject' });
    await transport.ensureGroup(topic, 'g');
    await transport.publish([message(topic, 'first')]);
    // Accepted into the delay stream: the topic's room is what counts when it is due.
    await transport.publish([message(topic, 'later', { delayMs: 50 })]);
    await refusedMove.until(() => refusals >= 1, 10_000, () => 'the mover to find the topic full');
    const delayStream = await withJsm(endpoint.url, (jsm) => jsm.streams.info(`${prefixes.streamPrefix}__DELAYED`));
    expect(delayStream.state.messages).toBe(1);
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: seen.onDelivery, onError: seen.onError });
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'later'), 10_000, 'the delayed message');
    expect(seen.deliveries.map((d) => d.message.id)).toEqual(['first', 'later']);
  });

  it('counts a delayed retry against a drop-oldest bound: it is the oldest and is discarded first (documented)', async () => {
    const transport = await open();
    const topic = uniqueName('drop-retry');
    await declare(transport, topic, { maxMessages: 2, overflow: 'drop-oldest' });
    const seen = collector();
    seen.handle = (d) => void d.nack({ delayMs: 60_000 });
    const subscription = await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: seen.onDelivery, onError: seen.onError });
    await transport.publish([message(topic, 'failing')]);
    await seen.until(() => seen.deliveries.length >= 1, 10_000, 'the failing message');
    await subscription.close();
    const before = await streamInfo(topic);
    expect(before.state.messages).toBe(1); // waiting for its retry: still in the stream, counted
    await transport.publish([message(topic, 'b'), message(topic, 'c')]);
    const after = await streamInfo(topic);
    expect(after.state.messages).toBe(2);
    expect(after.state.first_seq).toBe(before.state.first_seq + 1);
  });

  describe('overshoot under concurrency', () => {
    for (const { bound, publishers, each } of [
      { bound: 10, publishers: 4, each: 10 },
      { bound: 1_000, publishers: 4, each: 2_000 },
    ]) {
      it(`accepts at most ${bound} of ${publishers} × ${each} racing publishes`, async () => {
        const topic = uniqueName('race');
        const transports = await Promise.all(Array.from({ length: publishers }, () => open()));
        await declare(transports[0] as Transport, topic, { maxMessages: bound, overflow: 'reject' });
        await Promise.all(transports.slice(1).map((t) => declare(t, topic, { maxMessages: bound, overflow: 'reject' })));
        await (transports[0] as Transport).ensureGroup(topic, 'sale');
        let accepted = 0;
        let refused = 0;
        const other: unknown[] = [];
        const started = Date.now();
        // One publish call per message, as many application requests would make them.
        await Promise.all(
          transports.flatMap((transport, p) =>
            Array.from({ length: each }, (_, i) =>
              transport.publish([message(topic, `${p}-${i}`)]).then(
                () => (accepted += 1),
                (error: unknown) => (isOmnibusError(error, 'QUEUE_FULL') ? (refused += 1) : other.push(error)),
              ),
            ),
          ),
        );
        const elapsedMs = Date.now() - started;
        const stored = (await streamInfo(topic)).state.messages;
        console.info(`bounded nats: bound ${bound}, ${publishers} publishers × ${each}: accepted ${accepted}, refused ${refused}, stored ${stored}, overshoot ${accepted - bound} (${elapsedMs} ms)`);
        expect(other).toEqual([]);
        expect(accepted).toBeLessThanOrEqual(bound);
        expect(accepted + refused).toBe(publishers * each);
        expect(stored).toBe(accepted);
      });
    }
  });
});
