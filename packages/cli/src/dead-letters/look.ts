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

/**
 * After a read that settled nothing (list, show): closing the subscription puts every held dead
 * letter back at once (the transport's close releases what is unsettled), far faster than a nack
 * each (RabbitMQ: 2 s for 1,000).
 */
export async function releaseByClosing(looked: Looked): Promise<void> {
  await looked.scan.close();
}

/**
 * After a read that acked some (purge): nack every other held dead letter, then close. A close
 * alone would not do on Kafka, where an unsettled offset holds back the commit of the acked ones
 * after it, so they would come back.
 */
export async function releaseAll(looked: Looked): Promise<void> {
  await Promise.allSettled(looked.held.map((delivery) => delivery.nack()));
  await looked.scan.close();
}

/** A sentence about why a read stopped where it did, when that may leave dead letters unseen. */
export function incompleteNote(end: ScanEnd, unseen = 0): string | undefined {
  if (end === 'window-full') return `stopped after ${HOLD_WINDOW} dead letters (the read window): more may remain; narrow it with --group, --reason or --since`;
  if (end === 'interrupted') return 'interrupted: the list may be incomplete';
  if (end === 'idle' && unseen > 0) {
    return `the broker counted ${unseen} dead letter${unseen === 1 ? '' : 's'} more than were read: a reader that stopped (a killed replay) may hold them until the broker redelivers them; run the command again`;
  }
  return undefined;
}
