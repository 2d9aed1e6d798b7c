import type { BoundSupport, TransportCapabilities } from '@omnibus/core';

/**
 * What the RabbitMQ transport provides (see the README's capability matrix).
 *
 * - Delays are emulated with per-bucket TTL queues dead-lettering back (no plugin needed).
 * - orderingByKey is false: a queue is FIFO, but competing consumers, concurrency > 1 and
 *   redeliveries interleave messages of one key; nothing serializes a key.
 * - maxMessageBytes: the default of the `maxMessageBytes` option (each transport declares its
 *   option's value). 16 MiB: RabbitMQ's own max_message_size (which counts the body) is 128 MiB
 *   by default, and big messages hurt a broker. The headers table must also encode within
 *   amqplib's 64 KiB buffer, less the room kept for dead-letter headers (see size.ts): checked
 *   per message, before anything of a batch is sent.
 * - boundedTopics: x-max-length / x-max-length-bytes on each group queue (see bound.ts), with the
 *   queue type's overflow support (boundedTopicsFor).
 */
export const rabbitmqCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: 16 * 1024 * 1024,
  boundedTopics: boundedTopicsFor('classic'),
};

/**
 * Bounds a group queue of this type keeps. A classic queue checks its length in its one process,
 * message by message: a `reject` bound is exact under any number of racing publishers (measured
 * in bounded.test.ts). A quorum queue tells publishing channels it is full only after the fact and
 * overshoots by as much as is in flight (40 of 40 accepted with a bound of 10 and 4 publishers;
 * 1,200 to 1,600 with 1,000), so it does not offer `reject`; its drop-head is kept exactly.
 */
export function boundedTopicsFor(queueType: 'classic' | 'quorum'): BoundSupport {
  return { reject: queueType === 'classic' ? 'native' : 'none', dropOldest: 'native', maxBytes: true };
}
