import { describe, expect, it } from 'vitest';
import { EnvelopeHeaders, type TransportMessage } from '@omnibus/core';
import type { Message } from '@aws-sdk/client-sqs';
import { Attributes, QueueNames } from '../src/index.js';
import { decodeMessage, encodeMessage } from '../src/codec.js';
import { delayOf } from '../src/delay.js';

const envelope = {
  [EnvelopeHeaders.id]: 'm-1',
  [EnvelopeHeaders.source]: 'omnibus://host',
  [EnvelopeHeaders.type]: 'orders.placed',
  [EnvelopeHeaders.time]: '2026-12-03T10:00:00.000Z',
  [EnvelopeHeaders.specVersion]: '1.0',
  [EnvelopeHeaders.contentType]: 'application/json',
};

/** What SQS hands back for an encoded message (attributes and body as sent). */
function received(message: TransportMessage, extra: Parameters<typeof encodeMessage>[1] = {}): Message {
  const encoded = encodeMessage(message, extra);
  return { MessageId: 'sqs-id', Body: encoded.body, MessageAttributes: encoded.attributes };
}

describe('sqs codec', () => {
  it('keeps each envelope header in an attribute of its own and packs the rest, within SQS\' 10 attributes', () => {
    const headers: Record<string, string> = { ...envelope, [EnvelopeHeaders.firstFailureAt]: '2026-12-03T10:00:01.000Z', traceparent: '00-abc-def-01', 'x-empty': '' };
    for (let i = 0; i < 30; i++) headers[`x-${i}`] = `v${i}`;
    const message: TransportMessage = { id: 'm-1', topic: 't', key: 'k', headers, body: new TextEncoder().encode('{"a":1}') };
    const encoded = encodeMessage(message, { attempt: 3, dueAt: 123 });
    expect(Object.keys(encoded.attributes).length).toBeLessThanOrEqual(10);
    expect(encoded.attributes[EnvelopeHeaders.id]?.StringValue).toBe('m-1');
    expect(encoded.attributes[EnvelopeHeaders.type]?.StringValue).toBe('orders.placed');
    expect(encoded.body).toBe('{"a":1}');
    const decoded = decodeMessage('t', received(message, { attempt: 3, dueAt: 123 }));
    expect(decoded.message).toEqual(message);
    expect(decoded.state).toMatchObject({ a: 3, d: 123 });
  });

  it.each([
    ['binary', new Uint8Array([0, 1, 2, 255, 254])],
    ['invalid UTF-8', new Uint8Array([0xc3, 0x28])],
    ['text SQS refuses (a control character)', new TextEncoder().encode('a\u0001b')],
    ['empty', new Uint8Array(0)],
    ['unicode text', new TextEncoder().encode('ä ☃ 𝄞')],
  ])('round-trips a %s body, an empty-string key and a message id without ce-id', (_what, body) => {
    const message: TransportMessage = { id: 'raw-1', topic: 't', key: '', headers: { 'x-a': 'ä b' }, body };
    const decoded = decodeMessage('t', received(message));
    expect(decoded.message.id).toBe('raw-1');
    expect(decoded.message.key).toBe('');
    expect(decoded.message.headers).toEqual({ 'x-a': 'ä b' });
    expect([...decoded.message.body]).toEqual([...body]);
  });

  it('reads a foreign message: its body as text, its string attributes as headers, the SQS message id as id', () => {
    const decoded = decodeMessage('t', { MessageId: 'sqs-9', Body: 'hello', MessageAttributes: { source: { DataType: 'String', StringValue: 'legacy' }, [Attributes.headers]: { DataType: 'String', StringValue: 'not json' } } });
    expect(decoded.message).toMatchObject({ id: 'sqs-9', key: undefined, headers: { source: 'legacy' } });
    expect(new TextDecoder().decode(decoded.message.body)).toBe('hello');
  });

  it('counts the size SQS counts: body and attribute names and values', () => {
    const small = encodeMessage({ id: 'i', topic: 't', key: undefined, headers: { [EnvelopeHeaders.id]: 'i' }, body: new Uint8Array([1, 2, 3]) });
    expect(small.bytes).toBeGreaterThanOrEqual(Buffer.byteLength(small.body) + 'ce-id'.length + 1);
  });

  it('delays in whole seconds rounded up, past 15 minutes with a due time', () => {
    expect(delayOf(0)).toEqual({ delaySeconds: 0, dueAt: undefined });
    expect(delayOf(1)).toEqual({ delaySeconds: 1, dueAt: undefined });
    expect(delayOf(900_000)).toEqual({ delaySeconds: 900, dueAt: undefined });
    expect(delayOf(900_001, 1_000)).toEqual({ delaySeconds: 900, dueAt: 901_001 });
  });
});

describe('sqs queue names', () => {
  const names = new QueueNames('omnibus-');
  it('are valid SQS names of at most 80 characters, sharing the topic prefix', () => {
    const long = `${'a'.repeat(120)}.b.c`;
    for (const [topic, group] of [['orders.placed', 'billing'], [long, 'g'.repeat(150)], ['Orders', 'x']] as const) {
      const name = names.queue(topic, group);
      expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
      expect(name.startsWith(names.topicPrefix(topic))).toBe(true);
    }
  });

  it('keep apart names SQS would otherwise fold or cut together', () => {
    const long = 'a'.repeat(150);
    const queues = new Set([names.queue('orders', 'g'), names.queue('Orders', 'g'), names.queue(`${long}1`, 'g'), names.queue(`${long}2`, 'g'), names.queue('a.b', 'g'), names.queue('a_b', 'g'), names.queue('t', `${long}1`), names.queue('t', `${long}2`)]);
    expect(queues.size).toBe(8);
  });
});
