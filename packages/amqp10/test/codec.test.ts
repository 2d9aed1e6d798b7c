import rhea, { type Message } from 'rhea';
import { describe, expect, it } from 'vitest';
import { ConfigError, EnvelopeHeaders } from '@omnibus/core';
import { Annotations, checkHeaders, decodeMessage, DUPLICATE_ID_PROPERTY, encodeMessage } from '../src/codec.js';

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
