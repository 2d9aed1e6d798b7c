import { createHash } from 'node:crypto';
import rhea, { type Message } from 'rhea';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvelopeHeaders } from '@omnibus/core';
import { Annotations, checkHeaders, CloudEventsProperties, decodeMessage, DUPLICATE_ID_PROPERTY, encodeMessage } from '../src/codec.js';

/** What the wire would give back: rhea's own encoding and decoding (typed by rhea as its frame-level Message). */
const wire = (message: Message): Message => rhea.message.decode(rhea.message.encode(message)) as unknown as Message;
const fqqn = 'orders::orders/billing';

describe('amqp10 codec', () => {
  const base = { id: 'id-1', topic: 'orders', headers: { [EnvelopeHeaders.id]: 'id-1', tenant: 'a' }, body: new Uint8Array([0, 1, 2, 255]) };

  it('round-trips id, key (an empty one too), headers and bytes, and leaves an absent key absent', () => {
    for (const key of ['k-1', '', undefined]) {
      const decoded = decodeMessage('orders', fqqn, wire(encodeMessage({ ...base, key })));
      expect(decoded.message).toEqual({ ...base, key });
      expect(decoded.attempt).toBe(1);
    }
  });

  it('carries a deduplication id as _AMQ_DUPL_ID without showing it as a header', () => {
    const encoded = encodeMessage({ ...base, key: undefined, deduplicationId: 'id-1' });
    expect(encoded.application_properties?.[DUPLICATE_ID_PROPERTY]).toBe('id-1');
    expect(decodeMessage('orders', fqqn, wire(encoded)).message.headers).toEqual(base.headers);
  });

  it('believes a carried attempt only on a copy addressed to the queue consumed, and adds the delivery count', () => {
    const copy = wire({ ...encodeMessage({ ...base, key: undefined }, { attempt: 3, to: fqqn }), delivery_count: 1 });
    expect(decodeMessage('orders', fqqn, copy).attempt).toBe(4);
    // A publisher writing the annotation on an ordinary publish (to the topic) does not set the attempt.
    const spoofed = wire({ ...encodeMessage({ ...base, key: undefined }), message_annotations: { [Annotations.attempt]: 99 }, to: 'orders' });
    expect(decodeMessage('orders', fqqn, spoofed).attempt).toBe(1);
  });

  it('schedules with x-opt-delivery-time and merges nack headers over the message own', () => {
    const encoded = encodeMessage({ ...base, key: undefined }, { deliverAt: 1_900_000_000_000, headers: { tenant: 'b', [EnvelopeHeaders.firstFailureAt]: 'now' } });
    expect(encoded.message_annotations?.[Annotations.deliveryTime]).toBe(1_900_000_000_000);
    expect(decodeMessage('orders', fqqn, wire(encoded)).message.headers).toEqual({ ...base.headers, tenant: 'b', [EnvelopeHeaders.firstFailureAt]: 'now' });
  });

  it('gives a message of another client without message-id a stable id, and reads a string body as UTF-8', () => {
    const foreign: Message = { body: 'héllo', application_properties: { n: 7 } };
    const first = decodeMessage('orders', fqqn, wire(foreign));
    expect(first.message.id).toBe(decodeMessage('orders', fqqn, wire(foreign)).message.id);
    expect(first.message.headers).toEqual({ n: '7' });
    expect(Buffer.from(first.message.body).toString('utf8')).toBe('héllo');
  });

  it('refuses header names Artemis acts on, and non-string values, naming the header', () => {
    for (const name of ['_AMQ_DUPL_ID', '_amq_sched_delivery', 'JMSXGroupID']) {
      const error = (() => {
        try {
          checkHeaders({ [name]: 'x' });
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error('not refused');
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.field).toBe(`headers.${name}`);
    }
    expect(() => checkHeaders({ n: 1 })).toThrow(ConfigError);
    expect(() => checkHeaders({ 'x-trace': 'a', _private: 'b', Jam: 'c' })).not.toThrow();
  });
});

describe('amqp10 codec: the CloudEvents AMQP binding', () => {
  const envelope = {
    [EnvelopeHeaders.id]: 'm-1',
    [EnvelopeHeaders.source]: 'urn:test:orders',
    [EnvelopeHeaders.type]: 'orders.placed',
    [EnvelopeHeaders.time]: '2026-12-04T18:00:00.000Z',
    [EnvelopeHeaders.specVersion]: '1.0',
    [EnvelopeHeaders.contentType]: 'application/json',
  };
  const message = { id: 'm-1', topic: 'orders', key: undefined, headers: { ...envelope, traceparent: 'tp' }, body: new Uint8Array([1]) };

  it('writes the attributes as cloudEvents_ application properties and the data content type as the content-type property', () => {
    const encoded = wire(encodeMessage(message));
    expect(encoded.application_properties).toEqual({
      cloudEvents_id: 'm-1',
      cloudEvents_source: 'urn:test:orders',
      cloudEvents_type: 'orders.placed',
      cloudEvents_time: '2026-12-04T18:00:00.000Z',
      cloudEvents_specversion: '1.0',
      traceparent: 'tp',
    });
    expect(encoded.content_type).toBe('application/json');
    expect(CloudEventsProperties.specVersion).toBe('cloudEvents_specversion');
    expect(decodeMessage('orders', fqqn, encoded).message).toEqual(message);
  });

  it('lets the envelope win over a user header spelled like a binding attribute, and keeps it otherwise', () => {
    expect(encodeMessage({ ...message, headers: { cloudEvents_type: 'user', ...envelope } }).application_properties?.cloudEvents_type).toBe('orders.placed');
    expect(encodeMessage({ ...message, headers: { cloudEvents_type: 'user' } }).application_properties?.cloudEvents_type).toBe('user');
  });

  it('reads what a 0.1 publisher wrote (core names as application properties)', () => {
    const legacy: Message = { message_id: 'm-1', application_properties: { ...envelope, traceparent: 'tp' }, body: rhea.message.data_section(Buffer.from([1])) as unknown };
    expect(decodeMessage('orders', fqqn, wire(legacy)).message).toEqual(message);
  });

  it('reads the cloudEvents: separator and a native AMQP timestamp; cloudEvents_ over cloudEvents: over ce-', () => {
    const time = new Date('2026-12-04T18:00:00.000Z');
    const colon: Message = { message_id: 'x', content_type: 'text/plain', application_properties: { 'cloudEvents:id': 'c-1', 'cloudEvents:time': time }, body: 'b' };
    expect(decodeMessage('orders', fqqn, wire(colon)).message.headers).toEqual({ 'ce-id': 'c-1', 'ce-time': time.toISOString(), 'content-type': 'text/plain' });
    const both: Message = { message_id: 'x', application_properties: { 'ce-id': 'legacy', 'cloudEvents:id': 'colon', cloudEvents_id: 'underscore', 'ce-type': 'legacy.type', 'cloudEvents:type': 'colon.type', 'content-type': 'legacy/type' }, content_type: 'new/type', body: 'b' };
    expect(decodeMessage('orders', fqqn, wire(both)).message.headers).toEqual({ 'ce-id': 'underscore', 'ce-type': 'colon.type', 'content-type': 'new/type' });
  });

  it('gives a message without message-id its CloudEvents id, else derives one as 0.1 did, from the application properties as sent', () => {
    const event: Message = { body: 'x', application_properties: { cloudEvents_id: 'e-1', n: 7 } };
    const decoded = decodeMessage('orders', fqqn, wire(event));
    expect(decoded.message.id).toBe('e-1');
    expect(decoded.message.headers).toEqual({ 'ce-id': 'e-1', n: '7' });
    const foreign: Message = { body: 'x', application_properties: { cloudEvents_source: 's', n: 7 } };
    // sha256 over the body and {"cloudEvents_source":"s","n":"7"}, the names as they came.
    const expected = createHash('sha256').update(Buffer.from('x')).update(JSON.stringify({ cloudEvents_source: 's', n: '7' })).digest('hex').slice(0, 32);
    expect(decodeMessage('orders', fqqn, wire(foreign)).message.id).toBe(`amqp10-${expected}`);
  });
});
