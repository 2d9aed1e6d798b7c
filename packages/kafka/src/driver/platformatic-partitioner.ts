import { compatibilityPartitioner, type Partitioner } from '@platformatic/kafka';

/**
 * The partition of a record, as kafkajs' DefaultPartitioner (and the Java client) choose it:
 * a keyed record goes to murmur2(key) (the Java-compatible hash, so a key lands on the same
 * partition whichever driver or language wrote it), a keyless one round-robin.
 * @platformatic/kafka's own default hashes differently and puts every keyless record on 0.
 * The client takes the result modulo the partition count.
 */
export function javaCompatiblePartitioner(): Partitioner<string, Buffer, string, string> {
  let next = Math.floor(Math.random() * 1_000);
  return (message, key) => {
    if (key !== undefined) return compatibilityPartitioner(message, key);
    next = (next + 1) % 0x7fffffff;
    return next;
  };
}
