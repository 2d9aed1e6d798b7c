import type { NackOptions } from '@omnibus/core';
import type { OutgoingRecord } from '../driver/driver.js';
import { toRecord } from '../envelope.js';
import type { KafkaDelivery } from './delivery.js';

/** A nack whose retry record cannot be written is redelivered locally after at least this long. */
const LOCAL_RETRY_DELAY_MS = 1_000;

export interface RetryWriterDeps {
  /** The group's retry topic. */
  readonly topic: string;
  /** Produce to the retry topic (acks=all). */
  readonly publish: (records: readonly OutgoingRecord[]) => Promise<void>;
  /** Settling the delivery must not commit anything (its partition was revoked, or the subscription closed). */
  isStale(delivery: KafkaDelivery): boolean;
  /** The delivery's offset is done: commit soon. */
  done(delivery: KafkaDelivery): void;
  /** The delivery no longer counts as in flight. */
  release(delivery: KafkaDelivery): void;
  report(what: string, error: unknown): void;
}

/**
 * A nack writes the message to the retry topic (attempt + 1, due time, merged headers),
 * then marks its offset done. A write that fails keeps the offset open and redelivers the
 * message from memory: never lost, never acked.
 */
export class RetryWriter {
  /** Writes under way: close waits for them so their offsets can be committed. */
  private readonly writing = new Set<Promise<void>>();

  constructor(private readonly deps: RetryWriterDeps) {}

  write(delivery: KafkaDelivery, options: NackOptions): Promise<void> {
    const writing = this.retryLater(delivery, options).finally(() => this.writing.delete(writing));
    this.writing.add(writing);
    return writing;
  }

  /** Resolves once the writes under way now ended, failed or not. */
  ended(): Promise<unknown> {
    return Promise.allSettled([...this.writing]);
  }

  private async retryLater(delivery: KafkaDelivery, options: NackOptions): Promise<void> {
    const { deps } = this;
    const { entry, partition } = delivery;
    const delayMs = options.delayMs ?? 0;
    const message = options.headers ? { ...entry.message, headers: { ...entry.message.headers, ...options.headers } } : entry.message;
    const attempt = entry.attempt + 1;
    try {
      await deps.publish([toRecord(message, deps.topic, { attempt, dueAt: Date.now() + delayMs })]);
    } catch (error) {
      if (!deps.isStale(delivery)) partition.requeue({ ...entry, message, attempt, dueAt: Date.now() + Math.max(delayMs, LOCAL_RETRY_DELAY_MS) });
      deps.report(`writing a retry of message "${entry.message.id}" to "${deps.topic}" failed; redelivering it from memory`, error);
      deps.release(delivery);
      return;
    }
    if (!deps.isStale(delivery)) deps.done(delivery);
    deps.release(delivery);
  }
}
