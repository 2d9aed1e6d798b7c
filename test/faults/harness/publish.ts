// Publishing as a careful application does it under faults: several publishers (buses) at once,
// each with a window of concurrent publish() calls; a rejected publish is retried with the same id
// (at-least-once publishing: the id lets consumers deduplicate) until it resolves or the deadline
// passes. Every outcome is recorded in the ledger.
import type { Bus, Topic } from '@omnibus/core';
import type { Ledger } from './ledger.js';
import type { FaultBody } from './topic.js';

export interface PublishAllOptions {
  readonly publishers: readonly Bus[];
  readonly topic: Topic<FaultBody>;
  readonly ledger: Ledger;
  /** Ids `<idPrefix>-<n>` for n in [from, from + count). */
  readonly idPrefix: string;
  readonly count: number;
  readonly from?: number;
  /** Concurrent publish() calls per publisher. */
  readonly window: number;
  /** Give up (reject) when a message is still not published after this long. */
  readonly deadlineMs: number;
  /** Pause before retrying a rejected publish, so a down broker is not hammered. */
  readonly retryDelayMs?: number;
}

export const messageId = (prefix: string, n: number): string => `${prefix}-${n}`;

/** Resolves when every message was published (each id's publish resolved once). */
export async function publishAll(options: PublishAllOptions): Promise<void> {
  const { publishers, topic, ledger, idPrefix, count, window, deadlineMs } = options;
  const from = options.from ?? 0;
  const retryDelayMs = options.retryDelayMs ?? 100;
  const deadline = Date.now() + deadlineMs;
  const queues = publishers.map(() => [] as number[]);
  for (let i = 0; i < count; i++) queues[i % publishers.length]?.push(from + i);

  const publishOne = async (bus: Bus, n: number): Promise<void> => {
    const id = messageId(idPrefix, n);
    for (;;) {
      try {
        await bus.publish(topic, { n }, { id, key: `k-${n % 16}` });
        ledger.published(id);
        return;
      } catch (error) {
        ledger.rejected(id, error);
        if (Date.now() > deadline) {
          throw new Error(`${id} still not published after ${deadlineMs} ms; last error: ${(error as Error)?.message}`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      }
    }
  };

  await Promise.all(
    publishers.map(async (bus, p) => {
      const queue = queues[p] as number[];
      let next = 0;
      const worker = async () => {
        while (next < queue.length) {
          const n = queue[next++] as number;
          await publishOne(bus, n);
        }
      };
      await Promise.all(Array.from({ length: Math.min(window, queue.length) }, worker));
    }),
  );
}
