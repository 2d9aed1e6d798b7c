import type { TransportCapabilities } from '@omnibus/core';

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
 */
export const rabbitmqCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: 16 * 1024 * 1024,
};
