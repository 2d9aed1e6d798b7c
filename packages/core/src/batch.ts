import { number, type OutputOf, strictObject, withDefault } from './options/rules.js';
import { safeString } from './describe-error.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import type { Handler, HandlerContext, Message } from './message.js';

/** What a batch handler can do besides returning (ack all) or throwing (retry all, each by its own policy). */
export interface BatchContext {
  readonly transport: string;
  readonly group: string;
  readonly logger: Logger;
  /** Aborted when the subscription's drain timeout expires: the unfinished batch is redelivered. */
  readonly signal: AbortSignal;
  /** Retry this message of the batch alone (after `delayMs`, default its policy's backoff); the others are acked. */
  retry(message: Message<unknown>, options?: { delayMs?: number }): void;
  /** Dead-letter this message of the batch alone, with this reason. */
  deadLetter(message: Message<unknown>, reason: string): void;
}

export type BatchHandler<TBody> = (messages: readonly Message<TBody>[], context: BatchContext) => Promise<void> | void;

export const BatchOptionsSchema = strictObject({
  maxBatch: withDefault(number({ int: true, min: 1, max: 10_000 }), 100),
  maxWaitMs: withDefault(number({ int: true, min: 0, max: 3_600_000 }), 100),
  concurrency: withDefault(number({ int: true, min: 1, max: 1_000 }), 1),
});

type BatchOptions = OutputOf<typeof BatchOptionsSchema>;

type Mark = { readonly kind: 'retry'; readonly delayMs: number | undefined } | { readonly kind: 'dead-letter'; readonly reason: string };

interface Member<TBody> {
  readonly message: Message<TBody>;
  readonly context: HandlerContext;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers a subscription's deliveries into batches for one handler call, and gives each
 * message its own outcome. It sits where a per-message handler would: every message still
 * goes through decoding, validation, middleware and the retry policy on its own, and its
 * per-message handler call settles when the batch handler is done with it.
 *
 * A batch is handed over when `maxBatch` messages are in, `maxWaitMs` after its first
 * message, or at once when the subscription stops; at most `concurrency` batches run at a time.
 */
export class Batcher<TBody> {
  private filling: Member<TBody>[] = [];
  private readonly ready: Member<TBody>[][] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;

  constructor(
    private readonly handler: BatchHandler<TBody>,
    private readonly options: BatchOptions,
    private readonly describe: { readonly transport: string; readonly group: string; readonly logger: Logger },
  ) {}

  /** The per-message handler the consumer runs: resolves (ack) or rejects (retry) with the batch's verdict on it. */
  readonly handle: Handler<TBody> = (message, context) =>
    new Promise<void>((resolve, reject) => {
      this.filling.push({ message, context, resolve, reject });
      if (this.filling.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });

  /** Hand the batch being filled over now (the subscription is stopping: no more will come). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.filling.length === 0) return;
    this.ready.push(this.filling);
    this.filling = [];
    this.runReady();
  }

  private runReady(): void {
    while (this.running < this.options.concurrency && this.ready.length > 0) {
      const batch = this.ready.shift() as Member<TBody>[];
      this.running += 1;
      void this.run(batch).finally(() => {
        this.running -= 1;
        this.runReady();
      });
    }
  }

  private async run(batch: readonly Member<TBody>[]): Promise<void> {
    const marks = new Map<Message<unknown>, Mark>();
    const members = new Set<Message<unknown>>(batch.map((member) => member.message));
    const mark = (message: Message<unknown>, value: Mark) => {
      if (!members.has(message)) throw new ConfigError('message', 'is not a message of this batch: pass one of the messages the batch handler received');
      if (!marks.has(message)) marks.set(message, value);
    };
    const context: BatchContext = {
      ...this.describe,
      get signal() {
        return anySignal(batch.map((member) => member.context.signal));
      },
      retry: (message, options) => mark(message, { kind: 'retry', delayMs: options?.delayMs }),
      deadLetter: (message, reason) => mark(message, { kind: 'dead-letter', reason: safeString(reason) }),
    };
    let failure: { readonly error: unknown } | undefined;
    try {
      await this.handler(
        batch.map((member) => member.message),
        context,
      );
    } catch (error) {
      failure = { error };
    }
    for (const member of batch) {
      const verdict = marks.get(member.message);
      try {
        if (verdict?.kind === 'retry') member.context.retry(verdict.delayMs === undefined ? undefined : { delayMs: verdict.delayMs });
        else if (verdict?.kind === 'dead-letter') member.context.deadLetter(verdict.reason);
      } catch (error) {
        member.reject(error); // an invalid delay: a failure of this message like any other
        continue;
      }
      if (failure && !verdict) member.reject(failure.error);
      else member.resolve();
    }
  }
}

/** AbortSignal.any where Node has it (20.3+); before that, the first message's signal (all abort together on a drain timeout). */
function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  return any ? any([...signals]) : (signals[0] as AbortSignal);
}
