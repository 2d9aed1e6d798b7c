import type { DeadLetterReason } from './headers.js';
import type { Logger } from './logger.js';
import type { DeliveryMetadata } from './transport.js';

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
  /** Broker facts about this delivery (partition, offset, delivery tag), where the transport has them. */
  readonly metadata: DeliveryMetadata;
}

/** What a handler can do besides returning (ack) or throwing (retry per policy). */
export interface HandlerContext {
  /** The transport's name ('memory', 'rabbitmq', 'kafka', 'redis', 'nats', or a third party's). */
  readonly transport: string;
  readonly group: string;
  readonly attempt: number;
  readonly logger: Logger;
  /** Aborted when the subscription's drain timeout expires: stop work, the message will be redelivered. */
  readonly signal: AbortSignal;
  /**
   * The message's idempotency key on a subscription with `idempotency` (`<group>:<key>`), to
   * commit it in the handler's own transaction; undefined otherwise.
   */
  readonly idempotencyKey?: string | undefined;
  /** Ask for another attempt after `delayMs` (default: the policy's backoff). Counts toward maxAttempts. */
  retry(options?: { delayMs?: number }): void;
  /** Dead-letter the message now, with this reason. */
  deadLetter(reason: string): void;
}

export type Handler<TBody> = (message: Message<TBody>, context: HandlerContext) => Promise<void> | void;

/**
 * A message about to be published, as publish middleware sees it (mutable headers). Not to be
 * confused with the envelope (`EnvelopeHeaders`, `msg.envelope`): the CloudEvents headers a
 * message carries on the wire.
 */
export interface Publication {
  readonly topic: string;
  readonly id: string;
  key: string | undefined;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  delayMs: number | undefined;
  /** The transport's name, as in HandlerContext. */
  readonly transport: string;
  /** Messages published in the same call (1 for `publish`), and this one's position among them. */
  readonly batchSize: number;
  readonly batchIndex: number;
  /** The same for every message of one publish call, different for every call of one bus. */
  readonly batchId: number;
  /** Bytes of the encoded body, set once the codec ran (readable after `next()` resolved). */
  bodyBytes: number | undefined;
}

/** @deprecated Renamed `Publication` ("envelope" is the wire headers, `EnvelopeHeaders`). Kept as an alias until 1.0. */
export type PublishEnvelope = Publication;

export type PublishMiddleware = (publication: Publication, next: () => Promise<void>) => Promise<void>;
export type ConsumeMiddleware = (message: Message<unknown>, context: HandlerContext, next: () => Promise<void>) => Promise<void>;

/** How a delivery ended, once its ack or nack was done. */
export type SettledOutcome =
  /** The handler finished; acked. */
  | 'ack'
  /** Nacked for another attempt after `delayMs`. */
  | 'retry'
  /** Stored in the dead-letter topic, then acked. */
  | 'dead-letter'
  /** The dead-letter copy could not be stored: kept on the broker, retried later (`error` says why). */
  | 'dead-letter-pending'
  /** Released for redelivery without an outcome: a drain timed out, the subscription was stopping, or settling failed. */
  | 'released';

export interface SettledEvent {
  readonly transport: string;
  readonly topic: string;
  readonly group: string;
  readonly messageId: string;
  readonly attempt: number;
  readonly outcome: SettledOutcome;
  /** Why it was dead-lettered (outcomes 'dead-letter' and 'dead-letter-pending'). */
  readonly reason?: DeadLetterReason | undefined;
  /** The retry delay (outcome 'retry'). */
  readonly delayMs?: number | undefined;
  /** What the handler threw, or why the dead-letter copy failed. */
  readonly error?: unknown;
  /** The message as consume middleware saw it; undefined when it never got that far (undecodable, invalid, pending dead letter). */
  readonly message?: Message<unknown> | undefined;
  readonly metadata: DeliveryMetadata;
  /** The headers as transported (trace context included), also when `message` is undefined. */
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of the encoded body as transported. */
  readonly bodyBytes: number;
  /** From hand-over by the transport to the end of the settlement. */
  readonly durationMs: number;
}

export type SettledHook = (event: SettledEvent) => void;

export interface Middleware {
  readonly publish?: PublishMiddleware;
  readonly consume?: ConsumeMiddleware;
  /**
   * Called once per delivery after it was settled, with its outcome (for spans, metrics,
   * audit logs). Synchronous and must not throw; a throw is caught and dropped.
   */
  readonly settled?: SettledHook;
}
