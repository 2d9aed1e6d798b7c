import type { Bus, Delivery } from '@omnibus/core';
import { viewOf, type DeadLetterView } from './dead-letter.js';
import { expectedDeadLetters } from './expected.js';
import { DeadLetterScan, type ScanEnd } from './scan.js';

export interface ScanTimingFlags {
  /** How long to wait for the first dead letter (ms). */
  readonly wait: number;
  /** How long without a new dead letter ends the read (ms). */
  readonly idle: number;
}

/** Most dead letters one read holds at once (the subscription's concurrency). */
export const HOLD_WINDOW = 10_000;

/** What one read saw: the dead letters kept for the caller, still held on the broker until released. */
export interface Looked {
  readonly end: ScanEnd;
  readonly seen: number;
  /** The kept ones, in arrival order, each with its delivery (unsettled). */
  readonly kept: readonly { readonly view: DeadLetterView; readonly delivery: Delivery }[];
  /** Every delivery held, kept or not: release or settle each of them. */
  readonly held: readonly Delivery[];
  readonly scan: DeadLetterScan;
}

/**
 * Read the dead letters of `deadLetterTopic` without settling any: each is held (so it is not
 * handed over twice) and `keep` chooses which ones the caller wants; `enough` ends the read early.
 */
export async function look(
  bus: Bus,
  deadLetterTopic: string,
  options: ScanTimingFlags & { readonly signal: AbortSignal; readonly onError: (error: Error) => void },
  keep: (view: DeadLetterView) => boolean,
  enough: (kept: number) => boolean = () => false,
): Promise<Looked> {
  const expected = await expectedDeadLetters(bus, deadLetterTopic);
  const scan = new DeadLetterScan(bus, { topic: deadLetterTopic, window: HOLD_WINDOW, firstWaitMs: options.wait, idleMs: options.idle, expected, signal: options.signal, onError: options.onError });
  const kept: { view: DeadLetterView; delivery: Delivery }[] = [];
  const held: Delivery[] = [];
  const end = await scan.run((delivery) => {
    held.push(delivery);
    scan.hold();
    const view = viewOf(delivery.message);
    if (keep(view) && !enough(kept.length)) {
      kept.push({ view, delivery });
      if (enough(kept.length)) scan.end('enough');
    }
  });
  return { end, seen: scan.seen, kept, held, scan };
}

/** Put every held dead letter back for the next reader (nack: redelivered as it is), then close the read. */
export async function releaseAll(looked: Looked): Promise<void> {
  await Promise.allSettled(looked.held.map((delivery) => delivery.nack()));
  await looked.scan.close();
}

/** A sentence about why a read stopped where it did, when that may leave dead letters unseen. */
export function incompleteNote(end: ScanEnd): string | undefined {
  if (end === 'window-full') return `stopped after ${HOLD_WINDOW} dead letters (the read window): more may remain; narrow it with --group, --reason or --since`;
  if (end === 'interrupted') return 'interrupted: the list may be incomplete';
  return undefined;
}
