// What one side (the raw client or Omnibus) must do for the benchmark. Both sides of a broker
// implement the same interface, so the measuring code is shared and cannot favour either.
import type { BenchBody } from '../lib/payload.js';

/** One benchmark topic and the group that reads it. */
export interface Target {
  readonly topic: string;
  readonly group: string;
}

export interface Publisher {
  /** Publish these messages; resolves when the broker durably accepted all of them. */
  sendBatch(bodies: readonly BenchBody[]): Promise<void>;
  /** Publish one message; resolves when the broker durably accepted it. */
  sendOne(body: BenchBody): Promise<void>;
}

export interface Consumer {
  /** Stop consuming and release the consumer. */
  close(): Promise<void>;
}

export interface Side {
  /** 'raw' or 'omnibus'. */
  readonly kind: SideKind;
  /** Connect (and verify the broker answers). */
  connect(): Promise<void>;
  /** Create the group so that messages published from now on are kept for it. */
  prepare(target: Target): Promise<void>;
  publisher(target: Target): Promise<Publisher>;
  /**
   * Consume the group with this prefetch/concurrency, acking every message after
   * `onBody` returned. Resolves once the consumer is started.
   */
  consume(target: Target, concurrency: number, onBody: (body: BenchBody) => void): Promise<Consumer>;
  /** Close every connection. */
  close(): Promise<void>;
}

export type SideKind = 'raw' | 'omnibus';
