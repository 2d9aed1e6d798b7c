import type { Logger } from './logger.js';

/** A received message, as a handler sees it. */
export interface Message<TBody = unknown> {
  readonly id: string;
  readonly topic: string;
  readonly key: string | undefined;
  /** User headers (traceparent included); envelope headers are in `envelope`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: TBody;
  /** 1-based; survives redelivery. */
  readonly attempt: number;
  readonly publishedAt: Date;
  /** CloudEvents attributes and every raw header as transported. */
  readonly envelope: Readonly<Record<string, string>>;
}

/** What a handler can do besides returning (ack) or throwing (retry per policy). */
export interface HandlerContext {
  readonly group: string;
  readonly attempt: number;
  readonly logger: Logger;
  /** Aborted when the subscription's drain timeout expires: stop work, the message will be redelivered. */
  readonly signal: AbortSignal;
  /** Ask for another attempt after `delayMs` (default: the policy's backoff). Counts toward maxAttempts. */
  retry(options?: { delayMs?: number }): void;
  /** Dead-letter the message now, with this reason. */
  deadLetter(reason: string): void;
}

export type Handler<TBody> = (message: Message<TBody>, context: HandlerContext) => Promise<void> | void;

/** A message about to be published, as publish middleware sees it (mutable headers). */
export interface PublishEnvelope {
  readonly topic: string;
  readonly id: string;
  key: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  delayMs: number | undefined;
}

export type PublishMiddleware = (envelope: PublishEnvelope, next: () => Promise<void>) => Promise<void>;
export type ConsumeMiddleware = (message: Message<unknown>, context: HandlerContext, next: () => Promise<void>) => Promise<void>;

export interface Middleware {
  readonly publish?: PublishMiddleware;
  readonly consume?: ConsumeMiddleware;
}
