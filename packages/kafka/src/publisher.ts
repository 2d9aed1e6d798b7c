import { withTimeout } from '@omnibus/core';
import type { KafkaDriver, OutgoingRecord } from './driver/driver.js';
import { recordSize } from './envelope.js';

export interface PublisherSettings {
  /** Bound on one publish, from the call to the broker's acknowledgement. */
  readonly timeoutMs: number;
  /** Bound on the records of one produce request (the broker limits a record batch to `message.max.bytes`). */
  readonly maxRequestBytes: number;
}

interface Pending {
  readonly records: readonly OutgoingRecord[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Timed out while queued: dropped, never sent. */
  cancelled: boolean;
}

/** Per-record framing a produce request adds (varints, attributes, header counts), roughly. */
const RECORD_OVERHEAD_BYTES = 64;

/**
 * Group commit for publishes. The idempotent producer sends one request per broker
 * at a time, so publishes that arrive while a request is in flight wait and then go
 * together in the next request: one round trip for many concurrent publishes
 * instead of a queue of round trips. One publish call is never split unless it
 * alone exceeds `maxRequestBytes`. When a combined request fails, every publish in
 * it fails (each may have been stored: publishing is at-least-once).
 */
export class Publisher {
  private readonly queue: Pending[] = [];
  private flushing = false;

  constructor(
    private readonly driver: KafkaDriver,
    private readonly settings: PublisherSettings,
  ) {}

  /** `recordBytes`: the sum of `recordSize` over `records` (the caller computed it already). */
  send(records: readonly OutgoingRecord[], recordBytes: number): Promise<void> {
    let pending!: Pending;
    const sent = new Promise<void>((resolve, reject) => {
      pending = { records, bytes: recordBytes + records.length * RECORD_OVERHEAD_BYTES, resolve, reject, cancelled: false };
    });
    this.queue.push(pending);
    void this.flush();
    return withTimeout(sent, this.settings.timeoutMs, () => {
      pending.cancelled = true;
      return new Error(`not acknowledged within ${this.settings.timeoutMs} ms`);
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.take();
        if (group.length === 0) continue;
        let bytes = 0;
        for (const p of group) bytes += p.bytes;
        const records = group.length === 1 ? (group[0] as Pending).records : group.flatMap((p) => p.records);
        try {
          // Only a single publish above the bound needs splitting (take() never combines past it).
          if (bytes <= this.settings.maxRequestBytes) await this.driver.send(records, this.settings.timeoutMs);
          else for (const chunk of this.chunks(records)) await this.driver.send(chunk, this.settings.timeoutMs);
          group.forEach((p) => p.resolve());
        } catch (error) {
          group.forEach((p) => p.reject(error));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The queued publishes for the next request: in order, whole, within the size bound (at least one). */
  private take(): Pending[] {
    const group: Pending[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      if (next.cancelled) {
        this.queue.shift();
        continue;
      }
      if (group.length > 0 && bytes + next.bytes > this.settings.maxRequestBytes) break;
      group.push(next);
      bytes += next.bytes;
      this.queue.shift();
    }
    return group;
  }

  /** A single oversized publish goes out in several requests, in order. */
  private *chunks(records: readonly OutgoingRecord[]): Generator<OutgoingRecord[]> {
    let chunk: OutgoingRecord[] = [];
    let bytes = 0;
    for (const record of records) {
      const size = recordSize(record) + RECORD_OVERHEAD_BYTES;
      if (chunk.length > 0 && bytes + size > this.settings.maxRequestBytes) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push(record);
      bytes += size;
    }
    if (chunk.length > 0) yield chunk;
  }
}
