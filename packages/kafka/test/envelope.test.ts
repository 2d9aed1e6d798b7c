import { describe, expect, it } from 'vitest';
import type { TransportMessage } from '@omnibus/core';
import type { FetchedRecord } from '../src/driver/driver.js';
import { fromRecord, recordSize, toRecord, TransportHeaders } from '../src/envelope.js';

// What core puts on every message (EnvelopeHeaders), plus a user header.
const coreHeaders = {
  'ce-id': 'm-1',
  'ce-source': 'urn:test:orders',
  'ce-type': 'orders.placed',
  'ce-time': '2026-12-04T18:00:00.000Z',
  'ce-specversion': '1.0',
  'content-type': 'application/json',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
};

const message = (headers: Record<string, string> = coreHeaders, id = 'm-1'): TransportMessage => ({ id, topic: 'orders', key: 'k', headers, body: new TextEncoder().encode('{"n":1}') });

const text = (value: string | Buffer | undefined): string | undefined => (value === undefined ? undefined : value.toString());

const fetched = (headers: Record<string, string>, offset = '7'): FetchedRecord => ({ offset, timestamp: 1, key: 'k', value: new Uint8Array(0), headers });
const main = { role: 'main' as const, attemptOf: (_offset: bigint, recorded: number) => recorded };

describe('kafka envelope: the CloudEvents Kafka binding on the wire', () => {
  it('writes the binding names (ce_ attributes, content-type) and passes user headers as they are', () => {
    const record = toRecord(message(), 'p.orders');
    expect(Object.keys(record.headers).sort()).toEqual(['ce_id', 'ce_source', 'ce_specversion', 'ce_time', 'ce_type', 'content-type', 'traceparent']);
    const values = Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, text(value)]));
    expect(values).toEqual({
      ce_id: 'm-1',
      ce_source: 'urn:test:orders',
      ce_type: 'orders.placed',
      ce_time: '2026-12-04T18:00:00.000Z',
      ce_specversion: '1.0',
      'content-type': 'application/json',
      traceparent: coreHeaders.traceparent,
    });
    // Same size as before the rename: `ce_` and `ce-` are one byte each.
    expect(recordSize(record)).toBe(recordSize({ ...record, headers: coreHeaders }));
  });

  it('shares one pre-encoded Buffer per constant attribute value between records; id and time are per message', () => {
    const first = toRecord(message(), 'p.orders');
    const second = toRecord(message({ ...coreHeaders, 'ce-id': 'm-2', 'ce-time': '2026-12-04T18:00:01.000Z' }, 'm-2'), 'p.orders');
    for (const name of ['ce_source', 'ce_type', 'ce_specversion', 'content-type']) {
      expect(Buffer.isBuffer(first.headers[name]), name).toBe(true);
      expect(second.headers[name], name).toBe(first.headers[name]);
    }
    expect(second.headers.ce_id).toBe('m-2');
    expect(second.headers.ce_time).toBe('2026-12-04T18:00:01.000Z');
  });

  it('writes omnibus-kafka-id only when ce_id does not carry the id', () => {
    expect(toRecord(message(), 't').headers[TransportHeaders.id]).toBeUndefined();
    expect(toRecord(message(coreHeaders, 'other'), 't').headers[TransportHeaders.id]).toBe('other');
    const { 'ce-id': _dropped, ...noId } = coreHeaders;
    expect(toRecord(message(noId), 't').headers[TransportHeaders.id]).toBe('m-1');
  });

  it('lets the envelope win over a user header spelled like a binding attribute, and keeps it when there is no attribute', () => {
    const record = toRecord(message({ ce_type: 'user-value', ...coreHeaders, ce_subject: 'kept' }), 't');
    expect(text(record.headers.ce_type)).toBe('orders.placed');
    expect(record.headers.ce_subject).toBe('kept');
    const bare = toRecord(message({ ce_type: 'user-value' }), 't');
    expect(bare.headers.ce_type).toBe('user-value');
  });

  it('round-trips: a written record reads back under core names, the same headers as published', () => {
    const record = toRecord(message(), 'p.orders');
    const wire = Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, value.toString()]));
    const decoded = fromRecord(fetched(wire), 7n, 'orders', 'p.orders', 0, main);
    expect(decoded.message.id).toBe('m-1');
    expect(decoded.message.headers).toEqual(coreHeaders);
  });

  it('reads records of a 0.1 producer (core names on the wire): same message', () => {
    const decoded = fromRecord(fetched({ ...coreHeaders }), 7n, 'orders', 'p.orders', 0, main);
    expect(decoded.message.id).toBe('m-1');
    expect(decoded.message.headers).toEqual(coreHeaders);
  });

  it('prefers the binding name where a record has both, whichever comes first', () => {
    const legacyFirst = fromRecord(fetched({ 'ce-id': 'old', ce_id: 'new', 'ce-type': 'old.type', ce_type: 'new.type' }), 1n, 't', 't', 0, main);
    expect(legacyFirst.message.id).toBe('new');
    expect(legacyFirst.message.headers).toEqual({ 'ce-id': 'new', 'ce-type': 'new.type' });
    const bindingFirst = fromRecord(fetched({ ce_id: 'new', 'ce-id': 'old', ce_time: 't-new', 'ce-time': 't-old' }), 1n, 't', 't', 0, main);
    expect(bindingFirst.message.id).toBe('new');
    expect(bindingFirst.message.headers).toEqual({ 'ce-id': 'new', 'ce-time': 't-new' });
  });

  it('keeps transport headers out of the message and CloudEvents extensions of foreign producers as user headers', () => {
    const decoded = fromRecord(
      fetched({ ce_id: 'x', ce_subject: 'order/1', [TransportHeaders.id]: 'omnibus-id', [TransportHeaders.attempt]: '3', [TransportHeaders.due]: '5' }),
      1n,
      't',
      't',
      0,
      { role: 'retry', attemptOf: (_offset, recorded) => recorded },
    );
    expect(decoded.message.id).toBe('omnibus-id');
    expect(decoded.attempt).toBe(3);
    expect(decoded.dueAt).toBe(5);
    expect(decoded.message.headers).toEqual({ 'ce-id': 'x', ce_subject: 'order/1' });
  });

  it('gives a record without any id a stable one from its position', () => {
    expect(fromRecord(fetched({}, '42'), 42n, 't', 'p.t', 2, main).message.id).toBe('p.t/2/42');
  });
});
