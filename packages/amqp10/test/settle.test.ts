// Settle semantics on a real Artemis: outcomes, the attempt count, delayed nacks, a refused login.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, expect, it } from 'vitest';
import { ConnectionError, Signal, silentLogger, type Delivery, type Transport } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { createTransport } from '../src/index.js';
import { cleanupPrefix } from './helpers.js';

describeWithBroker('amqp10', 'amqp10 settle semantics', (endpoint) => {
  const prefix = `a10-pt-${randomBytes(3).toString('hex')}.`;
  const open: Transport[] = [];
  const make = (options: Record<string, unknown> = {}, url = endpoint.url): Transport => {
    const transport = createTransport({ url, options: { prefix, reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, ...options }, logger: silentLogger });
    open.push(transport);
    return transport;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });
  const topicName = (label: string) => `t-${randomBytes(4).toString('hex')}-${label}`;
  const message = (topic: string, id: string) => ({ id, topic, key: undefined, headers: { n: id }, body: new Uint8Array(Buffer.from(id)) });

  /** Subscribe and collect every hand-over, with a Signal to wait on. */
  async function collect(transport: Transport, topic: string, concurrency: number) {
    const deliveries: Delivery[] = [];
    const signal = new Signal();
    const subscription = await transport.subscribe({
      topic,
      group: 'g',
      concurrency,
      onDelivery: (delivery) => {
        deliveries.push(delivery);
        signal.notify();
      },
      onError: () => undefined,
    });
    const until = (check: () => boolean, what: string) => signal.until(check, 10_000, () => what);
    return { deliveries, subscription, until };
  }

  it('keeps the outcome of each delivery when an ack and a nack of consecutive deliveries go out in one tick', async () => {
    const transport = make();
    const topic = topicName('tick');
    const { deliveries, until } = await collect(transport, topic, 4);
    await transport.publish(['a', 'b', 'c', 'd'].map((id) => message(topic, id)));
    await until(() => deliveries.length >= 4, 'four deliveries');
    const [a, b, c, d] = deliveries as [Delivery, Delivery, Delivery, Delivery];
    // One tick: accept, modify, accept, modify. rhea 3.0.5 on its own sends "a..b accepted" here.
    void a.ack();
    void b.nack();
    void c.ack();
    void d.nack();
    await until(() => deliveries.length >= 6, 'the two nacked messages again');
    const again = deliveries.slice(4).map((x) => [x.message.id, x.attempt]);
    expect(again.sort()).toEqual([['b', 2], ['d', 2]]);
    expect(new Set([a, b, c, d].map((x) => x.message.id))).toEqual(new Set(['a', 'b', 'c', 'd']));
    await Promise.all(deliveries.slice(4).map((x) => x.ack()));
  });

  it('redelivers a nack with a delay no earlier than asked, with its headers merged and the attempt counted', async () => {
    const transport = make();
    const topic = topicName('delay');
    const { deliveries, until } = await collect(transport, topic, 1);
    await transport.publish([message(topic, 'x')]);
    await until(() => deliveries.length >= 1, 'the first delivery');
    const nackedAt = Date.now();
    await (deliveries[0] as Delivery).nack({ delayMs: 400, headers: { 'omnibus-first-failure-at': 'then' } });
    await until(() => deliveries.length >= 2, 'the redelivery');
    const again = deliveries[1] as Delivery;
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(390);
    expect(again.attempt).toBe(2);
    expect(again.message.headers).toEqual({ n: 'x', 'omnibus-first-failure-at': 'then' });
    await again.ack();
  });

  it('counts a delivery released by close() as an attempt, and never redelivers an acked one', async () => {
    const topic = topicName('close');
    const first = make();
    const one = await collect(first, topic, 2);
    await first.publish([message(topic, 'kept'), message(topic, 'done')]);
    await one.until(() => one.deliveries.length >= 2, 'two deliveries');
    const done = one.deliveries.find((x) => x.message.id === 'done') as Delivery;
    await done.ack();
    await one.subscription.close();
    const two = await collect(make(), topic, 2);
    await two.until(() => two.deliveries.length >= 1, 'the released message');
    expect(two.deliveries.map((x) => [x.message.id, x.attempt])).toEqual([['kept', 2]]);
  });

  it('round-trips a message near the 4 MiB default limit (an Artemis large message)', async () => {
    const transport = make();
    const topic = topicName('large');
    const { deliveries, until } = await collect(transport, topic, 1);
    const body = new Uint8Array(randomBytes(4 * 1024 * 1024 - 8 * 1024));
    await transport.publish([{ ...message(topic, 'big'), body }]);
    await until(() => deliveries.length >= 1, 'the large message');
    expect(Buffer.from((deliveries[0] as Delivery).message.body).equals(Buffer.from(body))).toBe(true);
  });

  it('holds the credit bound when subscribe() is what connects the transport', async () => {
    const transport = make();
    const topic = topicName('first');
    // No connect() before: the subscription's start dials, and the connection's opened event fires meanwhile.
    const { deliveries, until } = await collect(transport, topic, 1);
    await transport.publish([message(topic, 'a'), message(topic, 'b')]);
    await until(() => deliveries.length >= 1, 'a delivery');
    // One receiver with credit 1: the second message waits until the first is settled.
    const inspection = await transport.inspect?.(topic, 'g');
    expect(inspection?.groups[0]).toMatchObject({ inFlight: { value: 1 }, waiting: { value: 1 } });
    await (deliveries[0] as Delivery).ack();
    await until(() => deliveries.length >= 2, 'the second delivery');
    await (deliveries[1] as Delivery).ack();
  });

  it('rejects a refused login with a ConnectionError that names the condition and never the password', async () => {
    const password = `wrong-${randomBytes(6).toString('hex')}`;
    const url = new URL(endpoint.url.replace(/^amqp10/, 'http'));
    const transport = make({ connectTimeoutMs: 3_000 }, `amqp10://${url.username}:${password}@${url.host}`);
    const error = await transport.connect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error?.message).toMatch(/amqp:unauthorized-access|sasl|auth/i);
    expect(`${error?.message} ${String(error?.stack)} ${String((error?.cause as Error | undefined)?.message)}`).not.toContain(password);
  });
});
