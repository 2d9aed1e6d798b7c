import type { TransportCapabilities } from '@omnibus/core';

/**
 * What the Redis Streams transport provides (see README "Capabilities").
 * - Delays are emulated with a sorted set moved by a Lua script.
 * - No ordering by key: competing consumers read one stream and nacked entries are re-added.
 * - Persistence is Redis's own (AOF/RDB): a Redis without persistence loses everything on restart.
 */
export const redisCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: 16 * 1024 * 1024,
};
