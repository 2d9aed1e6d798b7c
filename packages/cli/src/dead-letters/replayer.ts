import type { Bus, Delivery, OutgoingMessage } from '@omnibus/core';
import { pause } from '../interrupted.js';
import { headersForReplay } from './dead-letter.js';

/** What became of one dead letter handed to the replayer. */
export type ReplayOutcome = 'replayed' | 'released';

interface Queued {
  readonly delivery: Delivery;
  readonly originalTopic: string;
  readonly done: (outcome: ReplayOutcome) => void;
  readonly failed: (error: unknown) => void;
}

export interface ReplayerSettings {
  /** Most messages per transport publish call. */
  readonly batchSize: number;
  /** Messages per second at most; undefined: as fast as the broker accepts them. */
  readonly rate: number | undefined;
  readonly signal: AbortSignal;
}

/**
 * Republishes dead letters to their original topic, in batches, and removes each dead letter only
 * once its republish was durably accepted: `transport.publish` resolved, then `ack`. Killed at any
 * point, a dead letter is either still in the dead-letter topic or already republished (or both,
 * for the batch in the air: a replay is at-least-once, like every Omnibus delivery).
 *
 * The republished message is the original: same id, key, body and envelope headers, less the
 * `omnibus-dlq-*` ones. It goes through the transport, not the bus, with no `deduplicationId`, so
 * a broker that deduplicates on ids (NATS JetStream) cannot drop it as a copy of the original.
 * After Ctrl-C, queued dead letters are released (nacked) instead of republished.
 */
export class Replayer {
  private readonly queue: Queued[] = [];
  private flushing: Promise<void> | undefined;
  private readonly startedAt = Date.now();
  /** Dead letters republished and acked. */
  replayed = 0;

  constructor(
    private readonly bus: Bus,
    private readonly settings: ReplayerSettings,
  ) {}

  /** Resolves once the dead letter was republished and acked, or released after Ctrl-C. Rejects if its republish failed (it was released). */
  replay(delivery: Delivery, originalTopic: string): Promise<ReplayOutcome> {
    return new Promise<ReplayOutcome>((done, failed) => {
      this.queue.push({ delivery, originalTopic, done, failed });
      this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.settings.signal.aborted) {
        await this.releaseQueued();
        return;
      }
      await this.pace();
      if (this.settings.signal.aborted) continue;
      const batch = this.queue.splice(0, this.batchSize());
      await this.send(batch);
    }
  }

  private async send(batch: readonly Queued[]): Promise<void> {
    const messages: OutgoingMessage[] = batch.map(({ delivery, originalTopic }) => ({
      id: delivery.message.id,
      topic: originalTopic,
      key: delivery.message.key,
      headers: headersForReplay(delivery.message.headers),
      body: delivery.message.body,
    }));
    try {
      await this.bus.transport.publish(messages);
    } catch (error) {
      await Promise.allSettled(batch.map((q) => q.delivery.nack()));
      for (const q of batch) q.failed(error);
      return;
    }
    // Durably republished: only now is the dead letter removed.
    await Promise.all(
      batch.map(async (q) => {
        try {
          await q.delivery.ack();
          this.replayed += 1;
          q.done('replayed');
        } catch (error) {
          q.failed(error);
        }
      }),
    );
  }

  private async releaseQueued(): Promise<void> {
    const queued = this.queue.splice(0);
    await Promise.allSettled(queued.map((q) => q.delivery.nack()));
    for (const q of queued) q.done('released');
  }

  private batchSize(): number {
    const { batchSize, rate } = this.settings;
    // With a rate, small batches every ~100 ms keep the flow even.
    return rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.floor(rate / 10)));
  }

  /** With --rate, wait until sending the next batch keeps the average at or under the rate. */
  private async pace(): Promise<void> {
    const { rate } = this.settings;
    if (rate === undefined) return;
    const dueAt = this.startedAt + (this.replayed / rate) * 1_000;
    const wait = dueAt - Date.now();
    if (wait > 0) await pause(wait, this.settings.signal);
  }
}
