import { describe, expect, it } from 'vitest';
import type { ConsumeMessage, MessageProperties } from 'amqplib';
import type { TransportMessage } from '@omnibus/core';
import { CloudEventsProperties, decodeMessage, encodeMessage, type EncodedMessage } from '../src/codec.js';

const envelope = {
  'ce-id': 'm-1',
  'ce-source': 'urn:test:orders',
  'ce-type': 'orders.placed',
  'ce-time': '2026-12-04T18:00:00.000Z',
  'ce-specversion': '1.0',
  'content-type': 'application/json',
};

const message = (headers: Record<string, string>, id = 'm-1'): TransportMessage => ({ id, topic: 'orders', key: 'k', headers, body: new TextEncoder().encode('{}') });
const origin = { queue: 'p.orders.g', routerExchange: 'p.omnibus:router', retryRoutingKey: 'q:p.orders.g', brokerCountsDeliveries: false };

/** A delivery as amqplib hands it over, from the topic exchange. */
function delivery(properties: Partial<MessageProperties>, content: Buffer = Buffer.from('{}')): ConsumeMessage {
  return {
    content,
    fields: { deliveryTag: 1, redelivered: false, exchange: 'p.orders', routingKey: 'k', consumerTag: 'c' },
    properties: { headers: {}, ...properties } as MessageProperties,
  } as ConsumeMessage;
}

/** What the broker would deliver for an encoded message. */
const delivered = (encoded: EncodedMessage): ConsumeMessage => delivery({ ...(encoded.options as Partial<MessageProperties>), headers: encoded.options.headers as Record<string, unknown> }, encoded.content);

describe('rabbitmq codec: the CloudEvents AMQP binding', () => {
  it('writes the attributes as cloudEvents_ properties of the headers table and the data content type as the content-type property', () => {
    const encoded = encodeMessage(message({ ...envelope, traceparent: 'tp' }));
    expect(encoded.options.headers).toEqual({
      cloudEvents_id: 'm-1',
      cloudEvents_source: 'urn:test:orders',
      cloudEvents_type: 'orders.placed',
      cloudEvents_time: '2026-12-04T18:00:00.000Z',
      cloudEvents_specversion: '1.0',
      traceparent: 'tp',
      'x-omnibus-key': 'k',
    });
    expect(encoded.options.contentType).toBe('application/json');
    expect(encoded.options.messageId).toBe('m-1');
    // No 0.1 marker any more.
    expect(encoded.options.appId).toBeUndefined();
    expect(encoded.options.type).toBeUndefined();
    expect(CloudEventsProperties).toEqual({ id: 'cloudEvents_id', source: 'cloudEvents_source', type: 'cloudEvents_type', time: 'cloudEvents_time', specVersion: 'cloudEvents_specversion' });
  });

  it('round-trips: the same id and headers come back under core names', () => {
    const headers = { ...envelope, 'x-user': 'u' };
    const decoded = decodeMessage('orders', delivered(encodeMessage(message(headers))), origin);
    expect(decoded.message.id).toBe('m-1');
    expect(decoded.message.key).toBe('k');
    expect(decoded.message.headers).toEqual(headers);
  });

  it('lets the envelope win over a user header spelled like a binding attribute, and keeps it otherwise', () => {
    expect(encodeMessage(message({ cloudEvents_type: 'user', ...envelope })).options.headers?.cloudEvents_type).toBe('orders.placed');
    expect(encodeMessage(message({ cloudEvents_type: 'user' })).options.headers?.cloudEvents_type).toBe('user');
  });

  it('reads the cloudEvents: separator, and prefers cloudEvents_ where a message has both', () => {
    const colon = decodeMessage('orders', delivery({ contentType: 'text/plain', headers: { 'cloudEvents:id': 'c-1', 'cloudEvents:source': 's', 'cloudEvents:type': 't', 'cloudEvents:specversion': '1.0' } }), origin);
    expect(colon.message.headers).toEqual({ 'ce-id': 'c-1', 'ce-source': 's', 'ce-type': 't', 'ce-specversion': '1.0', 'content-type': 'text/plain' });
    const both = decodeMessage('orders', delivery({ headers: { 'cloudEvents:id': 'colon', 'ce-id': 'legacy', cloudEvents_id: 'underscore', 'ce-type': 'legacy.type', 'cloudEvents:type': 'colon.type' } }), origin);
    expect(both.message.headers).toEqual({ 'ce-id': 'underscore', 'ce-type': 'colon.type' });
  });

  it('reads an AMQP timestamp (seconds in 0-9-1) as the canonical time', () => {
    const decoded = decodeMessage('orders', delivery({ headers: { cloudEvents_id: 'x', cloudEvents_time: 1_764_871_200 } }), origin);
    expect(decoded.message.headers['ce-time']).toBe(new Date(1_764_871_200_000).toISOString());
  });

  it('reads what a 0.1 publisher wrote: ce- headers, some moved to properties by the app-id marker', () => {
    const legacy = delivery({
      messageId: 'm-1',
      type: 'orders.placed',
      contentType: 'application/json',
      appId: 'omnibus/itcv',
      headers: { 'ce-source': 'urn:test:orders', 'ce-time': '2026-12-04T18:00:00.000Z', 'x-omnibus-key': 'k', 'x-user': 'u' },
    });
    const decoded = decodeMessage('orders', legacy, origin);
    expect(decoded.message.id).toBe('m-1');
    expect(decoded.message.headers).toEqual({ ...envelope, 'x-user': 'u' });
    // A 0.1 message with everything in the table (no marker), as its very first builds wrote it.
    const plain = decodeMessage('orders', delivery({ messageId: 'm-1', headers: { ...envelope } }), origin);
    expect(plain.message.headers).toEqual(envelope);
  });
});

describe('rabbitmq codec: ids of other publishers', () => {
  it('gives a message without message-id its CloudEvents id, and one without either a derived id', () => {
    expect(decodeMessage('orders', delivery({ headers: { cloudEvents_id: 'e-1' } }), origin).message.id).toBe('e-1');
    expect(decodeMessage('orders', delivery({ headers: { 'cloudEvents:id': 'e-2' } }), origin).message.id).toBe('e-2');
    expect(decodeMessage('orders', delivery({ headers: { n: 1 } }), origin).message.id).toMatch(/^amqp-sha256:/);
  });
});
