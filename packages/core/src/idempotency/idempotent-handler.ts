import { randomUUID } from 'node:crypto';
import { custom, number, optional, type OutputOf, strictObject, withDefault } from '../options/rules.js';
import { thrownMessage } from '../describe-error.js';
import type { Handler, HandlerContext, Message } from '../message.js';
import type { IdempotencyStore } from './store.js';

/** `subscribe(..., { idempotency })`: run each message's handler once per key, across redeliveries. */
export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** The key of a message; default its id. The group is prepended, so each group handles every message once. */
  readonly key?: (message: Message<unknown>) => string;
  /** How long a committed key is remembered: a duplicate arriving later runs again. Default 24 h. */
  readonly ttlMs?: number;
  /**
   * How long a claim holds without renewal. It is renewed every third of it while the handler
   * runs, so it ends early only when the consumer died (its redelivery may then claim). Default 30 s.
   */
  readonly leaseMs?: number;
  /** How long a duplicate waits for a running first copy to finish before it is retried later. Default 5 s. */
  readonly busyWaitMs?: number;
  /** Called for each duplicate acked without running the handler (its key was done): count them, log them. Must not throw. */
  readonly onDuplicate?: (message: Message<unknown>, key: string) => void;
}

export const IdempotencyOptionsSchema = strictObject({
  store: custom<IdempotencyStore>((v) => typeof v === 'object' && v !== null && typeof (v as IdempotencyStore).claim === 'function', 'must be an IdempotencyStore (claim, extend, commit, release)'),
  key: optional(custom<(message: Message<unknown>) => string>((v) => typeof v === 'function', 'must be a function (message) => string')),
  ttlMs: withDefault(number({ int: true, min: 1 }), 86_400_000),
  leaseMs: withDefault(number({ int: true, min: 300, max: 86_400_000 }), 30_000),
  busyWaitMs: withDefault(number({ int: true, min: 0, max: 3_600_000 }), 5_000),
  onDuplicate: optional(custom<(message: Message<unknown>, key: string) => void>((v) => typeof v === 'function', 'must be a function (message, key) => void')),
});

type ParsedOptions = OutputOf<typeof IdempotencyOptionsSchema>;

/** Polls of a busy key start short (a duplicate usually races a first copy about to finish). */
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 1_000;

/**
 * Wrap a handler so that each key runs at most once at a time and, once committed, not again
 * within its TTL:
 * - claim the key (atomic on the store); `done` acks without running the handler;
 * - `busy` (a first copy runs elsewhere): wait up to busyWaitMs for it, then retry later;
 * - run the handler while renewing the lease; commit after it returned, release if it threw
 *   or asked for a retry or a dead letter (the redelivery claims again at once).
 * The key is `ctx.idempotencyKey`, so a handler can commit it in its own transaction.
 */
export function idempotentHandler<TBody>(handler: Handler<TBody>, options: ParsedOptions, group: string): Handler<TBody> {
  const { store, ttlMs, leaseMs, busyWaitMs } = options;
  const keyOf = options.key ?? ((message: Message<unknown>) => message.id);
  return async (message, ctx) => {
    const key = `${group}:${keyOf(message)}`;
    const owner = randomUUID();
    let claim = await store.claim(key, owner, leaseMs);
    const deadline = Date.now() + busyWaitMs;
    for (let poll = FIRST_POLL_MS; claim.state === 'busy'; poll = Math.min(poll * 2, MAX_POLL_MS)) {
      const left = deadline - Date.now();
      if (left <= 0 || ctx.signal.aborted) {
        ctx.logger.debug({ key, retryAfterMs: claim.retryAfterMs }, 'omnibus: idempotency key busy, retrying later');
        ctx.retry({ delayMs: Math.min(Math.max(claim.retryAfterMs, FIRST_POLL_MS), leaseMs) });
        return;
      }
      await pause(Math.min(poll, left, claim.retryAfterMs), ctx.signal);
      claim = await store.claim(key, owner, leaseMs);
    }
    if (claim.state === 'done') {
      ctx.logger.debug({ key, id: message.id }, 'omnibus: duplicate skipped (idempotency key done)');
      try {
        options.onDuplicate?.(message, key);
      } catch {
        // documented: must not throw; the duplicate is acked all the same
      }
      return;
    }

    let handedBack = false;
    const context: HandlerContext = Object.create(ctx, {
      idempotencyKey: { value: key, enumerable: true },
      retry: { value: (o?: { delayMs?: number }) => ((handedBack = true), ctx.retry(o)) },
      deadLetter: { value: (reason: string) => ((handedBack = true), ctx.deadLetter(reason)) },
    }) as HandlerContext;
    const renewal = setInterval(() => {
      store.extend(key, owner, leaseMs).then(
        (held) => {
          if (!held) ctx.logger.warn({ key }, 'omnibus: idempotency claim lost while the handler runs (the store expired it): a redelivery may run concurrently');
        },
        (error: unknown) => ctx.logger.warn({ key, err: thrownMessage(error) }, 'omnibus: idempotency lease renewal failed'),
      );
    }, Math.max(100, Math.floor(leaseMs / 3)));
    renewal.unref();
    try {
      await handler(message, context);
    } catch (error) {
      clearInterval(renewal);
      await store.release(key, owner).catch(() => {}); // the lease ends it anyway
      throw error;
    }
    clearInterval(renewal);
    // Handed back (retry or dead letter): not done, so the next delivery may claim it.
    if (handedBack) await store.release(key, owner).catch(() => {});
    else await store.commit(key, owner, ttlMs);
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
