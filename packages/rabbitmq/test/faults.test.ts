import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Signal, type Transport } from '@omnibus/core';
import { brokerAddress, describeWithBroker, recordingLogger, TcpProxy, viaProxy } from '@omnibus/test-support';
import { bytes, cleanupPrefix, closeConnectionsNamed, deliveryLog, hasRabbitmqctl, makeTransport, rawConnection, testPrefix, uniqueTopic } from './helpers.js';

describeWithBroker('rabbitmq', 'rabbitmq faults and recovery', (endpoint) => {
  const prefix = testPrefix('faults');
  const transports: Transport[] = [];
  const open = (options: Record<string, unknown> = {}, logger = recordingLogger(), url = endpoint.url) => {
    const transport = makeTransport(url, { prefix, ...options }, logger);
    transports.push(transport);
    return transport;
  };
  let proxy: TcpProxy;
  let ctl = false;

  beforeAll(async () => {
    proxy = await TcpProxy.start(brokerAddress(endpoint.url, 5672));
    ctl = await hasRabbitmqctl();
  });
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await proxy?.close();
    await cleanupPrefix(endpoint.url, prefix);
  });

  /**
   * Publish `total` messages in batches while `cut()` breaks every connection twice (after a
   * third and two thirds were confirmed); every confirmed message must arrive at least once.
   */
  async function streamThroughCuts(url: string, connectionName: string, cut: () => Promise<unknown>): Promise<void> {
    const total = 600;
    const topic = uniqueTopic('stream');
    const consumerLogger = recordingLogger();
    const consumer = open({ connectionName }, consumerLogger, url);
    const producer = open({ connectionName }, recordingLogger(), url);
    const received = new Set<string>();
    const log = deliveryLog(async (d) => {
      received.add(d.message.id);
      await d.ack();
    });
    await consumer.subscribe({ topic, group: 'g1', concurrency: 8, onDelivery: log.onDelivery, onError: log.onError });

    const confirmed: string[] = [];
    const progress = new Signal();
    const failures: unknown[] = [];
    const producing = (async () => {
      for (let start = 0; start < total; start += 20) {
        const batch = Array.from({ length: 20 }, (_, i) => `m-${start + i}`);
        try {
          await producer.publish(batch.map((id) => ({ id, topic, key: undefined, headers: {}, body: bytes(id) })));
          confirmed.push(...batch);
        } catch (error) {
          failures.push(error);
        }
        progress.notify();
      }
    })();

    for (const third of [1, 2]) {
      await progress.until(() => confirmed.length >= (total * third) / 3, 30_000, () => `${(total * third) / 3} confirmed (got ${confirmed.length})`);
      await cut();
      // The consumer must come back before the next cut: its reconnect is logged.
      await consumerLogger.waitFor(new RegExp(`^rabbitmq: reconnected$`), 30_000);
      consumerLogger.entries.length = 0;
    }
    await producing;

    expect(failures).toEqual([]);
    await log.waitFor(() => confirmed.every((id) => received.has(id)), `all ${confirmed.length} confirmed messages received`, 60_000);
    expect(confirmed).toHaveLength(total);
    // The loss was reported to the subscription, as a recoverable error.
    expect(log.errors.some((e) => /connection lost/.test(e.message))).toBe(true);
  }

  it('loses nothing when the broker closes our connections mid-stream (rabbitmqctl close_connection)', async (ctx) => {
    if (!ctl) return ctx.skip('rabbitmqctl is not available to close connections from the broker side');
    const name = `omnibus-faults-${randomBytes(4).toString('hex')}`;
    await streamThroughCuts(endpoint.url, name, async () => {
      // Only our own connections, by their connection_name: other users share this broker.
      expect(await closeConnectionsNamed(name)).toBe(2);
    });
  });

  it('loses nothing when the network drops mid-stream (TCP proxy cut)', async () => {
    await streamThroughCuts(viaProxy(endpoint.url, proxy), `omnibus-faults-proxy-${randomBytes(4).toString('hex')}`, async () => {
      expect(proxy.counters.open).toBeGreaterThanOrEqual(2);
      proxy.cutAll();
    });
  });

  it('never acks a delivery of a lost channel on the new one: the broker redelivers it', async () => {
    const logger = recordingLogger();
    const transport = open({}, logger, viaProxy(endpoint.url, proxy));
    const topic = uniqueTopic('stale');
    const held = deliveryLog(() => {}); // settled by hand below
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: held.onDelivery, onError: held.onError });
    await transport.publish([{ id: 'stale-1', topic, key: undefined, headers: {}, body: bytes('x') }]);
    await held.waitFor((ds) => ds.length === 1, 'first delivery');
    const attached = logger.count(/consumer attached/);
    proxy.cutAll();
    await logger.waitFor(/consumer attached/, 30_000, { count: attached + 1 });
    // The broker redelivers on the new channel, where its delivery tag is 1 again, like the
    // stale one's. It is held back while the stale delivery still counts against concurrency 1.
    const [stale] = held.deliveries;
    await stale!.ack(); // must be a no-op, not an ack of tag 1 on the new channel
    await stale!.nack({ delayMs: 10 }); // already settled: no effect either
    await held.waitFor((ds) => ds.length === 2, 'redelivery after reconnect', 30_000);
    const fresh = held.deliveries[1]!;
    expect(fresh.message.id).toBe('stale-1');
    expect(fresh.attempt).toBe(2);
    await transport.close();
    // `fresh` was never settled, so the broker still has the message: a new consumer gets it.
    const again = deliveryLog();
    await open().subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: again.onDelivery, onError: again.onError });
    await again.waitFor((ds) => ds.length === 1, 'the message, still in the queue');
    expect(again.deliveries[0]!.message.id).toBe('stale-1');
    expect(logger.entries.filter((e) => e.level === 'error')).toEqual([]);
    // No 406 "unknown delivery tag" closed the new channel: the only error is the connection loss.
    expect(held.errors.map((e) => e.message).filter((m) => !/connection lost/.test(m))).toEqual([]);
  });

  it('reports a consumer cancelled by the broker (queue deleted) as an error and resubscribes', async () => {
    const logger = recordingLogger();
    const transport = open({}, logger);
    const topic = uniqueTopic('cancel');
    const other = uniqueTopic('bystander');
    const log = deliveryLog();
    const bystander = deliveryLog();
    await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: log.onDelivery, onError: log.onError });
    await transport.subscribe({ topic: other, group: 'g1', concurrency: 2, onDelivery: bystander.onDelivery, onError: bystander.onError });
    await transport.publish([{ id: 'before', topic, key: undefined, headers: {}, body: bytes('x') }]);
    await log.waitFor((ds) => ds.length === 1, 'message before the delete');
    const attachedBefore = logger.count(/consumer attached/);

    const raw = await rawConnection(endpoint.url);
    await (await raw.channel()).deleteQueue(`${prefix}${topic}.g1`);
    await raw.close();

    const error = await log.waitForError(/cancelled the consumer/);
    expect(error.name).toBe('ConnectionError');
    // It re-declares the queue and consumes again; wait for that, then messages flow again.
    await logger.waitFor(/consumer attached/, 20_000, { count: attachedBefore + 1 });
    await transport.publish([
      { id: 'after', topic, key: undefined, headers: {}, body: bytes('y') },
      { id: 'other', topic: other, key: undefined, headers: {}, body: bytes('z') },
    ]);
    await log.waitFor((ds) => ds.some((d) => d.message.id === 'after'), 'message after the resubscribe');
    await bystander.waitFor((ds) => ds.some((d) => d.message.id === 'other'), 'the other subscription unaffected');
    expect(bystander.errors).toEqual([]);
    // Only a channel was involved: the connection never dropped.
    expect(logger.entries.filter((e) => /connection lost/.test(e.message))).toEqual([]);
  });

  it('survives a 404 on publish (exchange deleted behind its back) without losing the connection', async () => {
    const logger = recordingLogger();
    const transport = open({}, logger);
    const topic = uniqueTopic('gone');
    const bystanderTopic = uniqueTopic('bystander');
    const bystander = deliveryLog();
    await transport.subscribe({ topic: bystanderTopic, group: 'g1', concurrency: 1, onDelivery: bystander.onDelivery, onError: bystander.onError });
    await transport.publish([{ id: 'warm', topic, key: undefined, headers: {}, body: bytes('x') }]);

    const raw = await rawConnection(endpoint.url);
    await (await raw.channel()).deleteExchange(`${prefix}${topic}`);
    await raw.close();

    // The transport still believes the exchange exists: the broker closes the publish channel
    // with 404; the message is re-sent on a new channel after re-declaring the exchange.
    await transport.publish([{ id: 'after-404', topic, key: undefined, headers: {}, body: bytes('x') }]);
    expect(logger.entries.some((e) => /publish channel closed by the broker/.test(e.message) && /404/.test(String(e.fields.err)))).toBe(true);
    await transport.publish([{ id: 'b1', topic: bystanderTopic, key: undefined, headers: {}, body: bytes('x') }]);
    await bystander.waitFor((ds) => ds.length === 1, 'bystander message');
    expect(logger.entries.filter((e) => /connection lost/.test(e.message))).toEqual([]);
    expect(bystander.errors).toEqual([]);
  });

  describe('stop and close', () => {
    it('with a prefetch above the concurrency, hands over at most `concurrency` and releases the buffer on close', async () => {
      const transport = open({ prefetch: 20 });
      const topic = uniqueTopic('buffer');
      let outstanding = 0;
      let most = 0;
      const log = deliveryLog(async (d) => {
        outstanding += 1;
        most = Math.max(most, outstanding);
        await new Promise((resolve) => setImmediate(resolve));
        outstanding -= 1;
        await d.ack();
      });
      await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: log.onDelivery, onError: log.onError });
      await transport.publish(Array.from({ length: 40 }, (_, i) => ({ id: `b${i}`, topic, key: undefined, headers: {}, body: bytes('x') })));
      await log.waitFor((ds) => ds.length === 40, 'all 40');
      expect(most).toBe(2);

      // Now hold everything: 2 handed over, up to 18 more buffered in the client.
      const held = deliveryLog(() => {});
      const other = uniqueTopic('buffer-held');
      const holder = open({ prefetch: 20 });
      const subscription = await holder.subscribe({ topic: other, group: 'g1', concurrency: 2, onDelivery: held.onDelivery, onError: held.onError });
      await holder.publish(Array.from({ length: 10 }, (_, i) => ({ id: `h${i}`, topic: other, key: undefined, headers: {}, body: bytes('x') })));
      await held.waitFor((ds) => ds.length === 2, 'two handed over');
      await subscription.close();
      expect(held.deliveries).toHaveLength(2);
      const next = deliveryLog();
      await open().subscribe({ topic: other, group: 'g1', concurrency: 4, onDelivery: next.onDelivery, onError: next.onError });
      await next.waitFor((ds) => new Set(ds.map((d) => d.message.id)).size === 10, 'all 10 back from the broker');
    });

    it('stop() ends hand-over; held deliveries can still be acked; close() releases the rest', async () => {
      const transport = open();
      const topic = uniqueTopic('stop');
      const held = deliveryLog(() => {});
      const subscription = await transport.subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: held.onDelivery, onError: held.onError });
      await transport.publish(['a', 'b'].map((id) => ({ id, topic, key: undefined, headers: {}, body: bytes(id) })));
      await held.waitFor((ds) => ds.length === 2, 'two deliveries');
      await subscription.stop();
      await transport.publish([{ id: 'c', topic, key: undefined, headers: {}, body: bytes('c') }]);
      const [a] = held.deliveries;
      await a!.ack(); // settled after stop(): allowed
      await subscription.close(); // b was never settled: back to the broker
      const next = deliveryLog();
      await open().subscribe({ topic, group: 'g1', concurrency: 2, onDelivery: next.onDelivery, onError: next.onError });
      await next.waitFor((ds) => ds.length === 2, 'b and c');
      expect(held.deliveries).toHaveLength(2);
      expect(next.deliveries.map((d) => d.message.id).sort()).toEqual(['b', 'c']);
      expect(next.deliveries.find((d) => d.message.id === 'b')!.attempt).toBe(2);
    });
  });
});

