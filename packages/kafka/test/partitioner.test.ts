import { randomBytes } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { javaCompatiblePartitioner, keyedPartition, murmur2 } from '../src/driver/platformatic-partitioner.js';

// The platformatic driver's keyed partitioner is our own murmur2 (@platformatic/kafka 1.22 has no
// Java-compatible one): checked against the Java client's published values and kafkajs' DefaultPartitioner.
describe('kafka java-compatible partitioner', () => {
  it('hashes as the Java client does (Utils.murmur2 test values)', () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key, 'utf8')), key).toBe(hash);
  });

  it('puts every key on the partition kafkajs DefaultPartitioner picks, for many keys and partition counts', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const keys: string[] = ['', 'a', 'ab', 'abc', 'abcd', 'é', '日本語', '🙂 emoji'];
    for (let index = 0; index < 2_000; index += 1) keys.push(`order-${index}`, randomBytes(1 + (index % 40)).toString('base64'), randomBytes(1 + (index % 13)).toString('hex'));
    let compared = 0;
    for (const partitions of [1, 2, 3, 7, 12, 50, 128]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (const key of keys) {
        const expected = kafkajs({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
        expect(keyedPartition(key, partitions), `${JSON.stringify(key)} over ${partitions}`).toBe(expected);
        // What the driver hands the client, which takes it modulo the partition count.
        const chosen = javaCompatiblePartitioner()({ topic: 't', key, value: Buffer.alloc(0) });
        expect(chosen % partitions).toBe(expected);
        compared += 1;
      }
    }
    expect(compared).toBe(keys.length * 7);
  });

  it('spreads keyless records round-robin', () => {
    const partitioner = javaCompatiblePartitioner();
    const first = partitioner({ topic: 't', value: Buffer.alloc(0) });
    const picks = Array.from({ length: 6 }, () => partitioner({ topic: 't', value: Buffer.alloc(0) }) % 3);
    expect(new Set(picks).size).toBe(3);
    expect(picks[0]).toBe((first + 1) % 3);
  });
});
