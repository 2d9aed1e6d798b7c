import type { TransportCapabilities } from '@omnibus/core';

/**
 * What the AMQP 1.0 transport provides on ActiveMQ Artemis (see the README's capability table).
 *
 * - delayedPublish: native, the `x-opt-delivery-time` message annotation (Artemis schedules it).
 * - delayedRedelivery: native scheduling too: a delayed nack sends a copy straight to the group's
 *   queue (its fully-qualified name) with `x-opt-delivery-time`, and accepts the delivery once the
 *   broker accepted the copy. Artemis' Modified outcome ignores annotations, so it cannot carry a delay.
 * - redeliveryHeaders: the nack headers travel on that copy.
 * - orderingByKey: false. A queue is FIFO, but competing consumers, credit > 1 and redeliveries
 *   interleave messages of one key.
 * - persistence: durable messages in Artemis' journal (a broker without persistence loses them).
 * - maxMessageBytes: the option's default (each transport declares its option's value).
 * - No bounded topics: Artemis bounds addresses in broker.xml (max-size-bytes, FAIL/DROP), which
 *   AMQP cannot set per topic.
 */
export const amqp10Capabilities: TransportCapabilities = {
  delayedPublish: 'native',
  delayedRedelivery: 'native',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: 4 * 1024 * 1024,
};
