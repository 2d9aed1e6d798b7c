import type { Handler, HandlerContext, Message, Publication, PublishMiddleware, ConsumeMiddleware } from '../message.js';
import { Signal } from './wait.js';

export type SpyOutcome = 'ack' | 'error';

export interface SpyCall<TBody> {
  readonly message: Message<TBody>;
  readonly attempt: number;
  readonly outcome: SpyOutcome;
  readonly error: unknown;
  readonly at: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A handler that records every call and lets a test await them instead of sleeping:
 * `await spy.waitForMessageWithId(id)`, `await spy.waitForCount(100)`.
 * Wrap your real handler to keep its behaviour: `handlerSpy(async (msg) => …)`.
 */
export interface HandlerSpy<TBody> {
  readonly handler: Handler<TBody>;
  /** Calls that finished (handler returned or threw), in order. */
  readonly calls: readonly SpyCall<TBody>[];
  /** Bodies of calls that returned normally. */
  readonly bodies: readonly TBody[];
  /** Handlers running now, and the most that ever ran at once. */
  readonly active: number;
  readonly maxActive: number;
  waitFor(predicate: (call: SpyCall<TBody>) => boolean, options?: { timeoutMs?: number }): Promise<SpyCall<TBody>>;
  /** Resolves when `condition()` holds; re-checked whenever a handler starts or finishes. */
  waitUntil(condition: () => boolean, options?: { timeoutMs?: number; what?: string }): Promise<void>;
  waitForMessageWithId(id: string, options?: { timeoutMs?: number; outcome?: SpyOutcome }): Promise<SpyCall<TBody>>;
  /** Resolves when at least `count` calls (with the given outcome, default ack) finished. */
  waitForCount(count: number, options?: { timeoutMs?: number; outcome?: SpyOutcome }): Promise<readonly SpyCall<TBody>[]>;
}

export function handlerSpy<TBody>(inner?: Handler<TBody>): HandlerSpy<TBody> {
  const calls: SpyCall<TBody>[] = [];
  const signal = new Signal();
  let active = 0;
  let maxActive = 0;

  const handler: Handler<TBody> = async (message: Message<TBody>, context: HandlerContext) => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    signal.notify();
    let outcome: SpyOutcome = 'ack';
    let error: unknown;
    try {
      await inner?.(message, context);
    } catch (caught) {
      outcome = 'error';
      error = caught;
      throw caught;
    } finally {
      active -= 1;
      calls.push({ message, attempt: message.attempt, outcome, error, at: Date.now() });
      signal.notify();
    }
  };

  const waitFor = async (predicate: (call: SpyCall<TBody>) => boolean, options: { timeoutMs?: number } = {}) => {
    let found: SpyCall<TBody> | undefined;
    await signal.until(
      () => (found = calls.find(predicate)) !== undefined,
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      () => `a handler call matching the predicate (${calls.length} calls so far)`,
    );
    return found as SpyCall<TBody>;
  };

  return {
    handler,
    calls,
    get bodies() {
      return calls.filter((c) => c.outcome === 'ack').map((c) => c.message.body);
    },
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
    waitFor,
    waitUntil: (condition, options = {}) =>
      signal.until(condition, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => options.what ?? `a condition (${calls.length} calls so far, ${active} running)`),
    waitForMessageWithId: (id, options = {}) =>
      waitFor((call) => call.message.id === id && (options.outcome === undefined || call.outcome === options.outcome), options),
    waitForCount: async (count, options = {}) => {
      const outcome = options.outcome ?? 'ack';
      const matching = () => calls.filter((c) => c.outcome === outcome);
      await signal.until(() => matching().length >= count, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => `${count} calls with outcome ${outcome} (got ${matching().length})`);
      return matching();
    },
  };
}

export interface PublishedCapture {
  /** Add to `createBus({ middleware: [capture.middleware] })`. */
  readonly middleware: { readonly publish: PublishMiddleware; readonly consume?: ConsumeMiddleware };
  /** Messages whose publish was durably accepted, in order. */
  readonly published: readonly Publication[];
  waitForPublished(predicate: (publication: Publication) => boolean, options?: { timeoutMs?: number }): Promise<Publication>;
}

/** Record what a bus published (after the broker accepted it), for asserting on producers. */
export function capturePublished(): PublishedCapture {
  const published: Publication[] = [];
  const signal = new Signal();
  return {
    published,
    middleware: {
      publish: async (publication, next) => {
        await next();
        published.push(publication);
        signal.notify();
      },
    },
    waitForPublished: async (predicate, options = {}) => {
      let found: Publication | undefined;
      await signal.until(() => (found = published.find(predicate)) !== undefined, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => 'a published message matching the predicate');
      return found as Publication;
    },
  };
}
