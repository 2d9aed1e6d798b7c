import type { Partitioner } from '@platformatic/kafka';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * MurmurHash2 (32 bits) of `data` as the Java client computes it (Utils.murmur2: seed
 * 0x9747b28c, 4-byte little-endian words, the 1 to 3 tail bytes unsigned), as a signed 32-bit
 * integer. Math.imul multiplies modulo 2^32 as Java's int does.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const whole = length - (length % 4);
  for (let index = 0; index < whole; index += 4) {
    let k = ((data[index] as number) | ((data[index + 1] as number) << 8) | ((data[index + 2] as number) << 16) | ((data[index + 3] as number) << 24)) | 0;
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length - whole;
  if (tail === 3) h ^= (data[whole + 2] as number) << 16;
  if (tail >= 2) h ^= (data[whole + 1] as number) << 8;
  if (tail >= 1) h = Math.imul(h ^ (data[whole] as number), M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Java's Utils.toPositive: the hash with its sign bit cleared (not its absolute value). */
const toPositive = (hash: number): number => hash & 0x7fffffff;

/** The partition of a key among `partitions`, as the Java client and kafkajs' DefaultPartitioner choose it. */
export function keyedPartition(key: string, partitions: number): number {
  return toPositive(murmur2(Buffer.from(key, 'utf8'))) % partitions;
}

/**
 * The partition of a record, as kafkajs' DefaultPartitioner (and the Java client) choose it:
 * a keyed record goes to toPositive(murmur2(key)) (the Java-compatible hash, so a key lands on
 * the same partition whichever driver or language wrote it), a keyless one round-robin.
 * @platformatic/kafka's own default hashes differently (murmur2 >>> 0, not the sign bit
 * cleared); 1.22 has no Java-compatible partitioner of its own. The client takes the result
 * modulo the partition count, and toPositive(h) % n is what the Java client computes.
 */
export function javaCompatiblePartitioner(): Partitioner<string, Buffer, string, string | Buffer> {
  let next = Math.floor(Math.random() * 1_000);
  return (message) => {
    if (message.key !== undefined) return toPositive(murmur2(Buffer.from(message.key, 'utf8')));
    next = (next + 1) % 0x7fffffff;
    return next;
  };
}
