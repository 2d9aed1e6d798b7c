import type { TransportCapabilities } from '@omnibus/core';
import { MAX_MESSAGE_BYTES } from './size.js';

/**
 * What the Redis Streams transport provides (see README "Capabilities").
 * - Delays are emulated with a sorted set moved by a Lua script.
 * - No ordering by key: competing consumers read one stream and nacked entries are re-added.
 * - Persistence is Redis's own (AOF/RDB): a Redis without persistence loses everything on restart.
 * - maxMessageBytes is in core's measure; a Redis with the default proto-max-bulk-len takes any
 *   message of that size however its headers encode (see size.ts).
 * - Bounded topics: a Lua check in the same script as the XADD (`reject`, exact under racing
 *   publishers) and XTRIM MAXLEN (`drop-oldest`); by message count only (see bound.ts).
 */
export const redisCapabilities: TransportCapabilities = {
  delayedPublish: 'emulated',
  delayedRedelivery: 'emulated',
  redeliveryHeaders: true,
  orderingByKey: false,
  persistence: true,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  boundedTopics: { reject: 'emulated', dropOldest: 'native', maxBytes: false },
};
