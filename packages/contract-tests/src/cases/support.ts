/** Schemas and helpers the cases share. */
import { z } from 'zod';
import { DEAD_LETTER_GROUP, Signal, deadLetterTopicOf, defineTopic, handlerSpy, type Bus, type HandlerSpy, type Topic } from '@omnibus/core';
import { uniqueName } from '../fixtures.js';

export const Order = z.object({ orderId: z.string(), total: z.number() });
export type Order = z.infer<typeof Order>;

export const order = (i: number): Order => ({ orderId: `o-${i}`, total: i });
export const orderTopic = (label: string): Topic<Order> => defineTopic(uniqueName(label), Order);

/** Retry settings short enough for tests, long enough to measure. */
export const fastRetry = (maxAttempts: number, delayMs = 50) => ({ maxAttempts, backoff: { type: 'fixed' as const, delayMs, jitter: false } });

/** Wait until `condition` holds, re-checked whenever any of the spies' handlers start or finish. */
export function waitAll<T>(spies: readonly HandlerSpy<T>[], condition: () => boolean, timeoutMs: number): Promise<void> {
  return Promise.race(spies.map((spy) => spy.waitUntil(condition, { timeoutMs })));
}

/** A count that tests can await. */
export function counter(): { add: () => void; reach: (n: number, timeoutMs: number) => Promise<void> } {
  const signal = new Signal();
  let count = 0;
  return {
    add: () => {
      count += 1;
      signal.notify();
    },
    reach: (n, timeoutMs) => signal.until(() => count >= n, timeoutMs, () => `${n} settlements (got ${count})`),
  };
}

/** Subscribe a spy to the dead-letter topic of `topic` (before anything is dead-lettered). */
export async function watchDeadLetters(bus: Bus, topic: Topic<unknown>): Promise<HandlerSpy<Uint8Array>> {
  const spy = handlerSpy<Uint8Array>();
  await bus.subscribe(deadLetterTopicOf(topic), spy.handler, { group: DEAD_LETTER_GROUP });
  return spy;
}
