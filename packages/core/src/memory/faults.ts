import { boolean, number, type OutputOf, strictObject, withDefault } from '../options/rules.js';

/**
 * Seeded fault injection for the memory transport, so a team can prove its
 * consumers idempotent and order-tolerant: the same seed replays the same faults.
 */
export const FaultOptionsSchema = strictObject({
  seed: withDefault(number({ int: true }), 1),
  /** Probability that a published message is stored twice. */
  duplicates: withDefault(number({ min: 0, max: 1 }), 0),
  /** Probability that an ack is "lost" and the message delivered again. */
  redeliveries: withDefault(number({ min: 0, max: 1 }), 0),
  /** Store each message at a random position of the queue instead of the tail. */
  reorder: withDefault(boolean, false),
});

export type FaultOptions = OutputOf<typeof FaultOptionsSchema>;

/** Faults as a user writes them: every field has a default. */
export interface FaultOptionsInput {
  readonly seed?: number;
  readonly duplicates?: number;
  readonly redeliveries?: number;
  readonly reorder?: boolean;
}

/** mulberry32: tiny, fast, good enough to decide faults reproducibly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
