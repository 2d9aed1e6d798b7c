import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, handlerSpy } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import {
  bytes,
  connectionsNamed,
  deliveryLog,
  hasRabbitmqctl,
  listConsumers,
  listQueues,
  text,
  uniqueTopic,
  rabbitHarness,
} from './helpers.js';

describeWithBroker('rabbitmq', 'rabbitmq topology', (endpoint) => {
  const harness = rabbitHarness(endpoint.url, 'topo');
  const { prefix } = harness;
  const open = (options: Record<string, unknown> = {}) => harness.open(options);


  it('declares a durable topic exchange and a durable group queue bound to it', async () => {
    const transport = open();
    const topic = uniqueTopic('orders');
    await transport.ensureGroup(topic, 'billing');
    const channel = await harness.raw.channel();
    // Passive declares fail with 404 when the object is missing.
    await channel.checkExchange(`${prefix}${topic}`);
    const queue = await channel.checkQueue(`${prefix}${topic}.billing`);
    expect(queue.messageCount).toBe(0);
    // Re-declaring with the documented settings is accepted: a mismatch would be a 406.
    await channel.assertExchange(`${prefix}${topic}`, 'topic', { durable: true });
    await channel.assertQueue(`${prefix}${topic}.billing`, { durable: true });
    // The binding routes everything: a raw (confirmed) publish to the exchange lands in the queue.
    const confirm = await harness.raw.model.createConfirmChannel();
    confirm.publish(`${prefix}${topic}`, 'any.routing.key', Buffer.from('raw'));
    await confirm.waitForConfirms();
    const got = await channel.get(`${prefix}${topic}.billing`, { noAck: true });
    expect(got && got.content.toString()).toBe('raw');
    await confirm.close();
    await channel.close();
  });

  it('declares idempotently: ensureGroup twice, subscribe, and a second transport agree', async () => {
    const topic = uniqueTopic('idem');
    const first = open();
    const second = open();
    await first.ensureGroup(topic, 'g1');
    await first.ensureGroup(topic, 'g1');
    await second.ensureGroup(topic, 'g1');
    const log = deliveryLog();
    await second.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await first.publish([{ id: 'i1', topic, key: undefined, headers: {}, body: bytes('one') }]);
    await log.waitFor((d) => d.length === 1, 'one delivery');
    expect(text(log.deliveries[0]!.message.body)).toBe('one');
    expect(log.errors).toEqual([]);
  });

  it('keeps topics without groups legal: publishing to them resolves and keeps nothing', async () => {
    const transport = open();
    const topic = uniqueTopic('nobody');
    await transport.publish([{ id: 'lost', topic, key: undefined, headers: {}, body: bytes('x') }]);
    await transport.ensureGroup(topic, 'late');
    const channel = await harness.raw.channel();
    expect((await channel.checkQueue(`${prefix}${topic}.late`)).messageCount).toBe(0);
    await channel.close();
  });

  it('routes a group queue name of exactly 253 bytes, the longest RabbitMQ names may be (see names.test.ts)', async () => {
    const transport = open();
    const topic = `t${'x'.repeat(180)}${uniqueTopic('long')}`.slice(0, 200);
    const group = `g${'y'.repeat(253 - prefix.length - topic.length - 2)}`;
    expect(Buffer.byteLength(`${prefix}${topic}.${group}`)).toBe(253);
    const log = deliveryLog();
    await transport.subscribe({ topic, group, concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await transport.publish([{ id: 'long-1', topic, key: 'k', headers: {}, body: bytes('long') }]);
    await log.waitFor((d) => d.length === 1, 'the message on the long-named group');
    expect(log.deliveries[0]!.message.id).toBe('long-1');
  });

  it('round-trips an id longer than an AMQP short string and an empty key', async () => {
    const transport = open();
    const topic = uniqueTopic('ids');
    const log = deliveryLog();
    await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    const id = `id-${'é'.repeat(300)}`;
    await transport.publish([{ id, topic, key: '', headers: { 'x-ok': 'véritable\n"ok"' }, body: new Uint8Array([0, 255, 1]) }]);
    await log.waitFor((d) => d.length === 1, 'one delivery');
    const { message } = log.deliveries[0]!;
    expect(message.id).toBe(id);
    expect(message.key).toBe('');
    expect(message.headers).toEqual({ 'x-ok': 'véritable\n"ok"' });
    expect([...message.body]).toEqual([0, 255, 1]);
  });

  it('refuses header names the transport or the broker reserve', async () => {
    const transport = open();
    const topic = uniqueTopic('reserved');
    for (const name of ['x-omnibus-attempt', 'x-death', 'CC', 'omnibus-rabbitmq-delay']) {
      await expect(transport.publish([{ id: 'r', topic, key: undefined, headers: { [name]: 'v' }, body: bytes('x') }])).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        field: `headers.${name}`,
      });
    }
  });

  it('refuses reserved amq.* names before asking the broker, pointing at options.prefix', async () => {
    const transport = harness.open({ prefix: '', publishTimeoutMs: 20_000 }); // no prefix: nothing is declared
    const topic = `amq.${uniqueTopic('reserved')}`;
    const refused = { code: 'CONFIG_INVALID', field: 'topic', message: expect.stringContaining('options.prefix') };
    await expect(transport.ensureGroup(topic, 'g1')).rejects.toMatchObject(refused);
    await expect(transport.publish([{ id: 'x', topic, key: undefined, headers: {}, body: bytes('x') }])).rejects.toMatchObject(refused);
  });

  it('is what createBus loads for an amqp:// URL, end to end with a typed topic', async () => {
    const bus = await createBus({ url: endpoint.url, options: { prefix } });
    try {
      const Greeting = defineTopic(uniqueTopic('greeting'), z.object({ to: z.string() }));
      const spy = handlerSpy<{ to: string }>();
      await bus.subscribe(Greeting, spy.handler, { group: 'g1' });
      const id = await bus.publish(Greeting, { to: 'world' }, { key: 'k1' });
      const call = await spy.waitForMessageWithId(id);
      expect(bus.transport.name).toBe('rabbitmq');
      expect(call.message.body).toEqual({ to: 'world' });
    } finally {
      await bus.close();
    }
  });

  describe('with rabbitmqctl', () => {
    let ctl = false;
    beforeAll(async () => {
      ctl = await hasRabbitmqctl();
    });

    it('makes quorum group queues when queueType is quorum', async (ctx) => {
      if (!ctl) return ctx.skip('rabbitmqctl is not available');
      const transport = open({ queueType: 'quorum' });
      const topic = uniqueTopic('quorum');
      await transport.ensureGroup(topic, 'q1');
      const [queue] = await listQueues(`${prefix}${topic}.q1`);
      expect(queue).toMatchObject({ durable: true, type: 'quorum' });
    });

    it('reports a queue-type clash as a ConfigError naming options.queueType', async (ctx) => {
      if (!ctl) return ctx.skip('rabbitmqctl is not available');
      const topic = uniqueTopic('clash');
      await open().ensureGroup(topic, 'g1');
      await expect(open({ queueType: 'quorum' }).ensureGroup(topic, 'g1')).rejects.toMatchObject({ code: 'CONFIG_INVALID', field: 'options.queueType' });
    });

    it('sets the broker prefetch to the concurrency, or to the prefetch option', async (ctx) => {
      if (!ctl) return ctx.skip('rabbitmqctl is not available');
      const topic = uniqueTopic('prefetch');
      const noop = () => {};
      await open().subscribe({ topic, group: 'c7', concurrency: 7, onDelivery: noop, onError: noop });
      await open({ prefetch: 50 }).subscribe({ topic, group: 'p50', concurrency: 2, onDelivery: noop, onError: noop });
      expect((await listConsumers(`${prefix}${topic}.c7`)).map((c) => c.prefetch_count)).toEqual([7]);
      expect((await listConsumers(`${prefix}${topic}.p50`)).map((c) => c.prefetch_count)).toEqual([50]);
    });

    it('names its connection and negotiates the heartbeat option', async (ctx) => {
      if (!ctl) return ctx.skip('rabbitmqctl is not available');
      const name = `omnibus-topo-${prefix}`;
      await open({ connectionName: name, heartbeatSeconds: 7 }).connect();
      expect(await connectionsNamed(name)).toEqual([expect.objectContaining({ timeout: 7 })]);
    });
  });
});

