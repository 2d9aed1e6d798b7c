import type { TransportMessage } from '@omnibus/core';
import type { TopicPartition } from '../driver/driver.js';

/** A fetched message waiting in, or handed over from, a partition buffer. */
export interface Entry {
  readonly offset: bigint;
  readonly message: TransportMessage;
  readonly attempt: number;
  /** Epoch ms before which it is not handed over (0: at once). */
  readonly dueAt: number;
  /** The record's Kafka timestamp, epoch ms. */
  readonly timestamp: number;
}

/** main: the topic itself; delay / retry: messages that wait for their due time. */
export type PartitionRole = 'main' | 'delay' | 'retry';

/** How far into the scan a partition looks for a message whose key is free. */
const SCAN_LIMIT = 1_000;
const METADATA_PREFIX = 'omnibus:delivered=';

/** The delivery frontier a commit's metadata records (see PartitionState), if it is the transport's own. */
export function frontierOf(metadata: string | null): bigint | undefined {
  if (!metadata?.startsWith(METADATA_PREFIX)) return undefined;
  const value = metadata.slice(METADATA_PREFIX.length);
  return /^\d{1,19}$/.test(value) ? BigInt(value) : undefined;
}

/** Whether an entry's key has nothing in flight (a keyless entry always may go). */
function isFree(entry: Entry, busy: ReadonlySet<string>): boolean {
  const key = entry.message.key;
  return key === undefined || !busy.has(key);
}

/**
 * The transport's view of one assigned partition.
 *
 * Offsets are "open" from fetch until settled; the commit watermark is the lowest
 * open offset (or the fetch position when none is open), so nothing later than an
 * unsettled message is ever committed, and a commit is always "next offset to read".
 *
 * The committed metadata records the delivery frontier (one past the highest offset
 * handed over): after a crash or a rebalance, the next owner knows which messages
 * were already delivered and counts their attempt one higher.
 */
export class PartitionState implements TopicPartition {
  readonly id: string;
  /** Fetched, due at once, in offset order (main topic). */
  private readonly fifo: Entry[] = [];
  /** Waiting for their due time, sorted by (dueAt, offset): delay and retry topics, local requeues. */
  private readonly timed: Entry[] = [];
  /** Open offsets, ascending (from `openHead`). */
  private open: bigint[] = [];
  private openHead = 0;
  private readonly done = new Set<bigint>();
  /** One past the last fetched offset: the fetch position. */
  nextOffset: bigint | undefined;
  /** One past the highest offset handed over, including what a previous owner recorded. */
  private frontier = -1n;
  /** Messages below this were delivered by a previous owner (from the committed metadata). */
  private inheritedFrontier = -1n;
  committedOffset: bigint | undefined;
  committedMetadata: string | null = null;
  /** Fetching is paused because the buffer is full. */
  paused = false;
  /** No longer assigned: its deliveries are stale, nothing of it is committed. */
  revoked = false;
  /** Resolves once the committed metadata was read (before the first batch is accepted). */
  ready: Promise<void> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly role: PartitionRole,
  ) {
    this.id = `${topic}:${partition}`;
  }

  get buffered(): number {
    return this.fifo.length + this.timed.length;
  }

  /** Adopt what the group's committed offset says (a fresh assignment). */
  inherit(offset: bigint, metadata: string | null): void {
    if (offset >= 0n) {
      this.committedOffset = offset;
      this.committedMetadata = metadata;
    }
    const frontier = frontierOf(metadata);
    if (frontier !== undefined) this.inheritedFrontier = frontier;
  }

  /** Attempt of a fetched message: one more if a previous owner already handed it over. */
  attemptOf(offset: bigint, recorded: number): number {
    return offset < this.inheritedFrontier ? recorded + 1 : recorded;
  }

  /** Whether `offset` was fetched already (a refetch after a rebalance). */
  seen(offset: bigint): boolean {
    return this.nextOffset !== undefined && offset < this.nextOffset;
  }

  /** Buffer fetched entries (in offset order) and move the fetch position. */
  accept(entries: readonly Entry[], nextOffset: bigint): void {
    for (const entry of entries) {
      this.open.push(entry.offset);
      if (this.role === 'main' && entry.dueAt === 0) this.fifo.push(entry);
      else this.insertTimed(entry);
    }
    if (this.nextOffset === undefined || nextOffset > this.nextOffset) this.nextOffset = nextOffset;
  }

  /** Put a handed-over entry back (its offset stays open) to hand over again when due. */
  requeue(entry: Entry): void {
    this.insertTimed(entry);
  }

  /**
   * Take the next entry that may be handed over now: due, and of a key with nothing
   * in flight (`busy`). Entries of a busy key stay in place, so a key's order holds.
   */
  take(now: number, busy: ReadonlySet<string>): Entry | undefined {
    // No closures here: this runs once per hand-over.
    const timed = this.timed;
    for (let i = 0; i < timed.length && i < SCAN_LIMIT; i += 1) {
      const entry = timed[i] as Entry;
      if (entry.dueAt > now) break;
      if (isFree(entry, busy)) return timed.splice(i, 1)[0];
    }
    const fifo = this.fifo;
    if (fifo.length > 0 && isFree(fifo[0] as Entry, busy)) return fifo.shift();
    for (let i = 1; i < fifo.length && i < SCAN_LIMIT; i += 1) {
      if (isFree(fifo[i] as Entry, busy)) return fifo.splice(i, 1)[0];
    }
    return undefined;
  }

  /** The earliest due time still in the future, if any. */
  nextDueAfter(now: number): number | undefined {
    for (const entry of this.timed) if (entry.dueAt > now) return entry.dueAt;
    return undefined;
  }

  markHanded(offset: bigint): void {
    if (offset + 1n > this.frontier) this.frontier = offset + 1n;
  }

  markDone(offset: bigint): void {
    this.done.add(offset);
  }

  /** The offset to commit: lowest open offset, else the fetch position. */
  watermark(): bigint | undefined {
    while (this.openHead < this.open.length && this.done.delete(this.open[this.openHead] as bigint)) this.openHead += 1;
    if (this.openHead > 1_024 && this.openHead * 2 > this.open.length) {
      this.open = this.open.slice(this.openHead);
      this.openHead = 0;
    }
    return this.openHead < this.open.length ? this.open[this.openHead] : this.nextOffset;
  }

  /** Commit metadata for `watermark`: the delivery frontier when it is ahead, else none. */
  metadataFor(watermark: bigint): string | null {
    const frontier = this.frontier > this.inheritedFrontier ? this.frontier : this.inheritedFrontier;
    return frontier > watermark ? `${METADATA_PREFIX}${frontier}` : null;
  }

  /** Drop the buffer (revocation). */
  clear(): void {
    this.fifo.length = 0;
    this.timed.length = 0;
  }

  private insertTimed(entry: Entry): void {
    // Binary search for the first entry that sorts after this one.
    let low = 0;
    let high = this.timed.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = this.timed[mid] as Entry;
      if (other.dueAt < entry.dueAt || (other.dueAt === entry.dueAt && other.offset < entry.offset)) low = mid + 1;
      else high = mid;
    }
    this.timed.splice(low, 0, entry);
  }
}
