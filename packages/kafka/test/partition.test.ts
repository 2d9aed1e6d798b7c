import { describe, expect, it } from 'vitest';
import { PartitionState, type Entry } from '../src/subscription/partition.js';

// The partition buffer is pure bookkeeping: checked here without a broker.
const entry = (offset: number, key?: string, dueAt = 0, attempt = 1): Entry => ({
  offset: BigInt(offset),
  message: { id: `m${offset}`, topic: 't', key, headers: {}, body: new Uint8Array() },
  attempt,
  dueAt,
  timestamp: 0,
});

describe('kafka partition buffer', () => {
  it('commits up to the lowest open offset, and the fetch position when none is open', () => {
    const p = new PartitionState('t', 0, 'main');
    expect(p.watermark()).toBeUndefined();
    p.accept([entry(10), entry(11), entry(12)], 13n);
    expect(p.watermark()).toBe(10n);
    p.markDone(11n);
    p.markDone(12n);
    expect(p.watermark()).toBe(10n);
    p.markDone(10n);
    expect(p.watermark()).toBe(13n);
  });

  it('hands over one message per key at a time, in offset order, skipping busy keys', () => {
    const p = new PartitionState('t', 0, 'main');
    p.accept([entry(0, 'a'), entry(1, 'a'), entry(2, 'b'), entry(3)], 4n);
    const busy = new Set<string>(['a']);
    expect(p.take(0, busy)?.offset).toBe(2n);
    busy.add('b');
    expect(p.take(0, busy)?.offset).toBe(3n);
    expect(p.take(0, busy)).toBeUndefined();
    busy.delete('a');
    expect(p.take(0, busy)?.offset).toBe(0n);
    expect(p.take(0, busy)?.offset).toBe(1n);
  });

  it('releases delay/retry messages by due time, not offset', () => {
    const p = new PartitionState('t.retry', 0, 'retry');
    p.accept([entry(0, undefined, 5_000), entry(1, undefined, 1_000), entry(2, undefined, 1_000)], 3n);
    expect(p.take(999, new Set())).toBeUndefined();
    expect(p.nextDueAfter(999)).toBe(1_000);
    expect(p.take(1_000, new Set())?.offset).toBe(1n);
    expect(p.take(1_000, new Set())?.offset).toBe(2n);
    expect(p.nextDueAfter(1_000)).toBe(5_000);
    // The long wait at offset 0 holds the commit back.
    p.markDone(1n);
    p.markDone(2n);
    expect(p.watermark()).toBe(0n);
  });

  it('records the delivery frontier as metadata and counts attempts below an inherited one', () => {
    const p = new PartitionState('t', 0, 'main');
    p.inherit(5n, 'omnibus:delivered=8');
    expect(p.attemptOf(6n, 1)).toBe(2);
    expect(p.attemptOf(8n, 1)).toBe(1);
    p.accept([entry(5), entry(6)], 7n);
    p.markHanded(5n);
    p.markDone(5n);
    expect(p.watermark()).toBe(6n);
    // Our frontier (6) is behind the inherited one (8): keep passing that on.
    expect(p.metadataFor(6n)).toBe('omnibus:delivered=8');
    expect(p.metadataFor(8n)).toBeNull();
    expect(p.seen(6n)).toBe(true);
    expect(p.seen(7n)).toBe(false);
  });
});
