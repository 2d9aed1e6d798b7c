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
  /** 'raw', 'omnibus', or a peer framework ('moleculer', 'nestjs'; `--peers`). */
  readonly kind: AnySideKind;
  /**
   * False for a side that cannot keep messages for an absent consumer (pub/sub: NestJS on Redis and
   * on core NATS). The benchmark then subscribes its consumer before publishing the throughput run
   * (see lib/broker-bench.ts) and labels its figures "(not durable)". Default true.
   */
  readonly durable?: boolean;
  /** What the report says about this side on this broker (durability caveats), if anything. */
  readonly note?: string;
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
/** The other frameworks `--peers` measures on the same workload. */
export const PEER_KINDS = ['moleculer', 'nestjs'] as const;
export type PeerKind = (typeof PEER_KINDS)[number];
export type AnySideKind = SideKind | PeerKind;
