import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, expect, it } from 'vitest';
import rhea, { type Connection, type EventContext, type Message } from 'rhea';
import { silentLogger, withTimeout, type Delivery, type Transport } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { createTransport, Names, parseAmqp10Url } from '../src/index.js';
import { cleanupPrefix } from './helpers.js';

const envelope = (id: string) => ({
  'ce-id': id,
  'ce-source': 'urn:omnibus:wire-test',
  'ce-type': 'wire.test',
  'ce-time': '2026-12-04T18:00:00.000Z',
  'ce-specversion': '1.0',
  'content-type': 'application/json',
});

/** The CloudEvents AMQP binding on Artemis, checked with a raw rhea client, and what earlier builds wrote. */
describeWithBroker('amqp10', 'amqp10 wire format (CloudEvents AMQP binding) and rolling upgrade', (endpoint) => {
  const prefix = `a10-wire-${randomBytes(3).toString('hex')}.`;
  const names = new Names(prefix);
  const open: Transport[] = [];
  const raw: Connection[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
    for (const connection of raw.splice(0)) connection.close();
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  const transport = () => {
    const created = createTransport({ url: endpoint.url, options: { prefix }, logger: silentLogger });
    open.push(created);
    return created;
  };

  /** A plain rhea connection, as another AMQP 1.0 client would open it. */
  const rawConnection = async (): Promise<Connection> => {
    const url = parseAmqp10Url(endpoint.url);
    const connection = rhea.create_container({ id: `omnibus-wire-${randomBytes(4).toString('hex')}` }).connect({
      host: url.hostname,
      port: url.port,
      ...(url.username === undefined ? {} : { username: url.username, password: url.password ?? '' }),
      reconnect: false,
    });
    raw.push(connection);
    await withTimeout(new Promise((resolve) => connection.once('connection_open', resolve)), 10_000, () => new Error('raw connection not opened'));
    return connection;
  };

  it('writes the envelope as cloudEvents_ application properties and the content-type property, user headers as they are', async () => {
    const omnibus = transport();
    const topic = `out-${randomBytes(4).toString('hex')}`;
    await omnibus.ensureGroup(topic, 'raw');
    await omnibus.publish([{ id: 'm-1', topic, key: 'k', headers: { ...envelope('m-1'), traceparent: 'tp' }, body: Buffer.from('{"n":1}') }]);
    const connection = await rawConnection();
    const message = await withTimeout(
      new Promise<Message>((resolve) => {
        connection.open_receiver({ source: { address: names.fqqn(topic, 'raw'), capabilities: ['topic'] }, credit_window: 1, autoaccept: true }).once('message', (context: EventContext) => resolve(context.message as Message));
      }),
      20_000,
      () => new Error('no message on the raw receiver'),
    );
    expect(message.application_properties).toEqual({
      cloudEvents_id: 'm-1',
      cloudEvents_source: 'urn:omnibus:wire-test',
      cloudEvents_type: 'wire.test',
      cloudEvents_time: '2026-12-04T18:00:00.000Z',
      cloudEvents_specversion: '1.0',
      traceparent: 'tp',
    });
    expect(message.content_type).toBe('application/json');
    expect(message.message_id).toBe('m-1');
  });

  it('delivers what an earlier build wrote during a rolling upgrade (core names as application properties): right id and headers', async () => {
    const omnibus = transport();
    const topic = `legacy-${randomBytes(4).toString('hex')}`;
    const deliveries: Delivery[] = [];
    let arrived: () => void = () => {};
    const first = new Promise<void>((resolve) => (arrived = resolve));
    await omnibus.subscribe({
      topic,
      group: 'g',
      concurrency: 1,
      onDelivery: (delivery) => {
        deliveries.push(delivery);
        void delivery.ack();
        arrived();
      },
      onError: () => {},
    });
    const connection = await rawConnection();
    const sender = connection.open_sender({ target: { address: names.address(topic), capabilities: ['topic'] } });
    await withTimeout(new Promise((resolve) => sender.once('sendable', resolve)), 10_000, () => new Error('raw sender not sendable'));
    const accepted = new Promise((resolve) => sender.once('accepted', resolve));
    sender.send({ message_id: 'legacy-1', durable: true, application_properties: { ...envelope('legacy-1'), 'x-user': 'u' }, body: rhea.message.data_section(Buffer.from('{"old":1}')) as unknown });
    await withTimeout(accepted, 10_000, () => new Error('the raw message was not accepted'));
    await withTimeout(first, 20_000, () => new Error('the earlier build message was not delivered'));
    expect(deliveries[0]?.message.id).toBe('legacy-1');
    expect(deliveries[0]?.message.headers).toEqual({ ...envelope('legacy-1'), 'x-user': 'u' });
    expect(Buffer.from(deliveries[0]?.message.body ?? []).toString()).toBe('{"old":1}');
  });
});
