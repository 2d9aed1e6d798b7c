/**
 * Delay buckets. RabbitMQ without the delayed-message plugin can only delay with a TTL, and a
 * classic queue expires messages from its head only: one queue holding a 30 s message in front
 * of a 1 s one would hold the 1 s one back. So every queue has ONE fixed TTL (x-message-ttl),
 * making expiry order equal to arrival order, and each delay goes to the queue of the smallest
 * bucket that is at least as long (never early; late by at most a factor 2^(1/perDoubling)).
 */
import { MAX_DELAY_MS } from '@omnibus/core';

/**
 * Longest delay: core's MAX_DELAY_MS (24 days), so x-message-ttl and x-expires (TTL + idle time)
 * both stay signed 32-bit integers, which every broker version and client encodes the same way.
 */
export { MAX_DELAY_MS };

/** How long a delay queue lives unused beyond its TTL (x-expires), so idle buckets clean up. */
export const DELAY_QUEUE_IDLE_MS = 120_000;

/** Re-declare a delay queue at least this often while publishing to it: a declare renews x-expires. */
export const DELAY_QUEUE_RENEW_MS = 60_000;

/** The bucket (a TTL in ms) for a delay: the smallest ceil(2^(k/perDoubling)) ≥ delayMs. */
export function delayBucket(delayMs: number, perDoubling: number): number {
  if (!(delayMs > 0)) return 0;
  if (delayMs <= 1) return 1;
  let k = Math.ceil(perDoubling * Math.log2(delayMs) - 1e-9);
  let bucket = Math.ceil(2 ** (k / perDoubling));
  // Float rounding may land one step off either way: settle on the smallest bucket ≥ delay.
  while (bucket < delayMs) bucket = Math.ceil(2 ** (++k / perDoubling));
  while (k > 0 && Math.ceil(2 ** ((k - 1) / perDoubling)) >= delayMs) bucket = Math.ceil(2 ** (--k / perDoubling));
  return Math.min(bucket, MAX_DELAY_MS);
}
