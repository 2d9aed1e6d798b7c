import type { TransportCapabilities } from '@omnibus/core';

/**
 * What the RabbitMQ transport provides (see the README's capability matrix).
 *
 * - Delays are emulated with per-bucket TTL queues dead-lettering back (no plugin needed).
 * - orderingByKey is false: a queue is FIFO, but competing consumers, concurrency > 1 and
 *   redeliveries interleave messages of one key; nothing serializes a key.
 * - maxMessageBytes: bodies up to 16 MiB (RabbitMQ's own limit is 128 MiB; big messages hurt
 *   a broker). The headers table must also encode within amqplib's 64 KiB buffer.
 */
export const rabbitmqCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: 16 * 1024 * 1024,
};
