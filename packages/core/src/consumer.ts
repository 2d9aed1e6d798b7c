import { decodeWith, type Codec } from './codec.js';
import { ValidationError } from './errors.js';
import { DeadLetterHeaders, Headers, userHeaders, type DeadLetterReason } from './headers.js';
import type { Logger } from './logger.js';
import type { ConsumeMiddleware, Handler, HandlerContext, Message } from './message.js';
import { compose } from './middleware.js';
import { decideRetry, type RetryPolicy } from './retry.js';
import type { Topic } from './topic.js';
import type { Delivery, OutgoingMessage, Transport, TransportSubscription } from './transport.js';

/** Everything the consumer needs, resolved by the bus. */
export interface ConsumerSettings<TBody> {
  readonly transport: Transport;
  readonly topic: Topic<TBody>;
  readonly group: string;
  readonly handler: Handler<TBody>;
  readonly codec: Codec;
  readonly retry: RetryPolicy;
  readonly deadLetterTopic: string;
  readonly middleware: readonly ConsumeMiddleware[];
  readonly logger: Logger;
}

const MAX_ERROR_MESSAGE = 1_000;
const MAX_ERROR_STACK = 2_000;
/** When dead-lettering itself fails, the message is put back and tried again after this. */
const DEAD_LETTER_FAILURE_DELAY_MS = 1_000;

/** An outcome other than ack (which handle() settles directly). */
type Decision =
  | { readonly kind: 'retry'; readonly delayMs: number | undefined; readonly error: unknown }
  | { readonly kind: 'dead-letter'; readonly reason: DeadLetterReason; readonly error: unknown };

/** One delivery being handled: settled at most once, by the handler's outcome or by a drain release. */
class InFlight {
  settled = false;
  done: Promise<void> = Promise.resolve();
  /** Created on first use: most handlers never read ctx.signal, and one per delivery is measurable. */
  private controller: AbortController | undefined;
  private abortReason: Error | undefined;
  constructor(readonly delivery: Delivery) {}

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.abortReason && !this.controller.signal.aborted) this.controller.abort(this.abortReason);
    return this.controller.signal;
  }

  abort(reason: Error): void {
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  /** Run `settle` unless this delivery was already settled. */
  async settleWith(settle: () => Promise<void>): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await settle();
  }
}

/**
 * The policy layer for one subscription: decode, validate, run middleware and the
 * handler, then ack, retry with backoff, or dead-letter. Written once for every
 * transport; the transport only hands over deliveries and settles them.
 */
export class Consumer<TBody> {
  private readonly inFlight = new Set<InFlight>();
  /** The handler inside the consume middleware; undefined without middleware (the handler is called directly). */
  private readonly run: ((message: Message<unknown>, context: HandlerContext) => Promise<void>) | undefined;
  private transportSubscription: TransportSubscription | undefined;
  /** Created before the first dead letter is published, so the dead-letter topic keeps it. */
  private deadLetterGroup: Promise<void> | undefined;
  private stopping = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly settings: ConsumerSettings<TBody>) {
    const handler = settings.handler as Handler<unknown>;
    this.run = settings.middleware.length > 0 ? compose<[Message<unknown>, HandlerContext]>(settings.middleware, async (message, context) => handler(message, context)) : undefined;
  }

  async start(concurrency: number): Promise<void> {
    const { transport, topic, group } = this.settings;
    this.transportSubscription = await transport.subscribe({
      topic: topic.name,
      group,
      concurrency,
      onDelivery: (delivery) => this.accept(delivery),
      onError: (error) => this.settings.logger.error({ err: error, topic: topic.name, group }, 'omnibus: transport error'),
    });
  }

  /** Number of deliveries being handled now. */
  get activeCount(): number {
    return this.inFlight.size;
  }

  private accept(delivery: Delivery): void {
    const entry = new InFlight(delivery);
    if (this.stopping) {
      // Arrived after stop(): hand it back untouched.
      void entry.settleWith(() => delivery.nack()).catch(() => {});
      return;
    }
    this.inFlight.add(entry);
    entry.done = this.track(entry);
  }

  private async track(entry: InFlight): Promise<void> {
    try {
      await this.handle(entry);
    } catch (error) {
      this.settings.logger.error({ err: error }, 'omnibus: failed to settle a delivery');
    } finally {
      this.inFlight.delete(entry);
    }
  }

  private async handle(entry: InFlight): Promise<void> {
    const { delivery } = entry;
    const transported = delivery.message;
    const { topic, codec } = this.settings;

    let body: unknown;
    try {
      body = decodeWith(codec, transported.body);
    } catch (error) {
      return this.settle(entry, { kind: 'dead-letter', reason: 'undecodable', error });
    }
    if (topic.schema) {
      const parsed = topic.schema.safeParse(body);
      if (!parsed.success) {
        const error = new ValidationError(topic.name, parsed.error.issues, { cause: parsed.error });
        return this.settle(entry, { kind: 'dead-letter', reason: 'invalid', error });
      }
      body = parsed.data;
    }

    let explicit: Decision | undefined;
    // A plain object (not getters) so handlers can spread, log or serialise it.
    const message: Message<unknown> = {
      id: transported.id,
      topic: transported.topic,
      key: transported.key,
      headers: userHeaders(transported.headers),
      body,
      attempt: delivery.attempt,
      publishedAt: parseTime(transported.headers[Headers.time]),
      envelope: transported.headers,
    };
    const context: HandlerContext = {
      group: this.settings.group,
      attempt: delivery.attempt,
      logger: this.settings.logger,
      get signal() {
        return entry.signal;
      },
      retry: (options) => {
        explicit ??= { kind: 'retry', delayMs: options?.delayMs, error: new Error('retry requested by the handler') };
      },
      deadLetter: (reason) => {
        explicit ??= { kind: 'dead-letter', reason: 'explicit', error: new Error(reason) };
      },
    };

    let failure: Decision | undefined;
    try {
      if (this.run) await this.run(message, context);
      else await (this.settings.handler as Handler<unknown>)(message, context);
    } catch (error) {
      failure = { kind: 'retry', delayMs: undefined, error };
    }
    const decision = explicit ?? failure;
    if (decision) return this.settle(entry, decision);
    // The common outcome, settled without the closures and promises of settle(): ack.
    if (entry.settled) return;
    entry.settled = true;
    return delivery.ack();
  }

  private async settle(entry: InFlight, decision: Decision): Promise<void> {
    const { delivery } = entry;
    const now = new Date().toISOString();
    const firstFailureAt = delivery.message.headers[Headers.firstFailureAt] ?? now;
    if (decision.kind === 'retry') {
      const verdict = decideRetry(this.settings.retry, decision.error, delivery.attempt);
      if (verdict.retry) {
        const delayMs = decision.delayMs ?? verdict.delayMs;
        this.settings.logger.debug({ id: delivery.message.id, attempt: delivery.attempt, delayMs }, 'omnibus: retry scheduled');
        return entry.settleWith(() => delivery.nack({ delayMs, headers: { [Headers.firstFailureAt]: firstFailureAt } }));
      }
      return this.deadLetter(entry, verdict.reason, decision.error, firstFailureAt, now);
    }
    return this.deadLetter(entry, decision.reason, decision.error, firstFailureAt, now);
  }

  private async deadLetter(entry: InFlight, reason: DeadLetterReason, error: unknown, firstFailureAt: string, lastFailureAt: string): Promise<void> {
    const { delivery } = entry;
    const original = delivery.message;
    const failure = describeError(error);
    const { [Headers.firstFailureAt]: _bookkeeping, ...kept } = original.headers;
    const deadLetter: OutgoingMessage = {
      id: original.id,
      topic: this.settings.deadLetterTopic,
      key: original.key,
      body: original.body,
      headers: {
        ...kept,
        [DeadLetterHeaders.topic]: original.topic,
        [DeadLetterHeaders.group]: this.settings.group,
        [DeadLetterHeaders.attempts]: String(delivery.attempt),
        [DeadLetterHeaders.reason]: reason,
        [DeadLetterHeaders.errorName]: failure.name,
        [DeadLetterHeaders.errorMessage]: failure.message,
        [DeadLetterHeaders.errorStack]: failure.stack,
        [DeadLetterHeaders.firstFailureAt]: firstFailureAt,
        [DeadLetterHeaders.lastFailureAt]: lastFailureAt,
      },
    };
    if (entry.settled) return;
    try {
      // The dead-letter topic keeps its messages even before anyone reads it.
      this.deadLetterGroup ??= this.settings.transport.ensureGroup(this.settings.deadLetterTopic, DEAD_LETTER_GROUP);
      await this.deadLetterGroup.catch((error: unknown) => {
        this.deadLetterGroup = undefined;
        throw error;
      });
      await this.settings.transport.publish([deadLetter]);
    } catch (publishError) {
      // Never drop it: put the message back and try again later.
      this.settings.logger.error({ err: publishError, id: original.id }, 'omnibus: dead-lettering failed, message released');
      return entry.settleWith(() => delivery.nack({ delayMs: DEAD_LETTER_FAILURE_DELAY_MS }));
    }
    this.settings.logger.warn({ id: original.id, topic: original.topic, group: this.settings.group, reason, error: failure.message }, 'omnibus: message dead-lettered');
    await entry.settleWith(() => delivery.ack());
  }

  /**
   * Drain: stop fetching, let in-flight handlers finish for up to `timeoutMs`,
   * release what is still running (redelivered later, never acked), release the consumer.
   */
  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.drain(timeoutMs);
    return this.closing;
  }

  private async drain(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await this.transportSubscription?.stop();
    const finished = Promise.allSettled([...this.inFlight].map((entry) => entry.done)).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = await Promise.race([finished, expired]);
    clearTimeout(timer);
    if (!drained) {
      const left = [...this.inFlight];
      this.settings.logger.warn({ count: left.length, timeoutMs }, 'omnibus: drain timeout, releasing unfinished messages for redelivery');
      await Promise.allSettled(
        left.map((entry) => {
          entry.abort(new Error('subscription closed: drain timeout expired'));
          return entry.settleWith(() => entry.delivery.nack());
        }),
      );
    }
    await this.transportSubscription?.close();
  }
}

/** The group core declares on every dead-letter topic, so its messages are kept until read. */
export const DEAD_LETTER_GROUP = 'omnibus-dead-letter';

function describeError(error: unknown): { name: string; message: string; stack: string } {
  if (error instanceof Error) {
    return {
      name: error.name,
      message: truncate(error.message, MAX_ERROR_MESSAGE),
      stack: truncate(error.stack ?? '', MAX_ERROR_STACK),
    };
  }
  return { name: 'NonError', message: truncate(String(error), MAX_ERROR_MESSAGE), stack: '' };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function parseTime(value: string | undefined): Date {
  const time = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? new Date(0) : new Date(time);
}
