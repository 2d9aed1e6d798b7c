import { backoffDelay, type Backoff } from './backoff.js';
import { decodeWith, type Codec } from './codec.js';
import { deadLetterMessage, pendingDeadLetterHeaders, pendingDeadLetterOf, type PendingDeadLetter } from './dead-letter.js';
import { assertDelayMs } from './delay.js';
import { asLoggableError, describeThrown, safeString, thrownMessage } from './describe-error.js';
import { DeadLetterError, MessageTooLargeError, ValidationError } from './errors.js';
import { checkBody } from './schema-validation.js';
import { EnvelopeHeaders, userHeaders, type DeadLetterReason } from './headers.js';
import { InFlight } from './in-flight.js';
import { messageBytes } from './message-size.js';
import type { SubscriptionHealth } from './health.js';
import { StatsRecorder } from './subscription-stats.js';
import type { Logger } from './logger.js';
import type { ConsumeMiddleware, Handler, HandlerContext, Message, SettledEvent, SettledHook } from './message.js';
import { compose } from './middleware.js';
import { pause } from './kit/timing.js';
import { TokenBucket, type RateLimit } from './rate-limit.js';
import { decideRetry, type RetryPolicy } from './retry.js';
import type { Topic } from './topic.js';
import type { Delivery, DeliveryMetadata, Transport, TransportSubscription } from './transport.js';

/** Everything the consumer needs, resolved by the bus. */
export interface ConsumerSettings<TBody> {
  readonly transport: Transport;
  readonly topic: Topic<TBody, unknown>;
  readonly group: string;
  readonly handler: Handler<TBody>;
  readonly codec: Codec;
  readonly retry: RetryPolicy;
  readonly deadLetterTopic: string;
  readonly middleware: readonly ConsumeMiddleware[];
  /** Called after every settlement (see Middleware.settled). */
  readonly settled: readonly SettledHook[];
  readonly logger: Logger;
  /** Handler starts per interval, shared by the subscription's concurrent handlers. */
  readonly rateLimit?: RateLimit | undefined;
  /** Told once the transport stopped handing over deliveries (a batcher hands over its partial batch). */
  readonly onStopped?: (() => void) | undefined;
}

/** What a settled hook is told besides the delivery's own facts. */
type Outcome = Pick<SettledEvent, 'outcome' | 'reason' | 'delayMs' | 'error'>;

const NO_METADATA: DeliveryMetadata = Object.freeze({});

/** When the dead-letter copy cannot be stored, the message is kept and the publish retried with this backoff. */
const DEAD_LETTER_RETRY: Backoff = { type: 'exponential', initialDelayMs: 1_000, maxDelayMs: 300_000, factor: 2, jitter: true };
/** Pending dead letters remembered for transports that cannot rewrite a redelivered message's headers. */
const MAX_REMEMBERED_PENDING = 10_000;

/** An outcome other than ack (which handle() settles directly). */
type Decision =
  | { readonly kind: 'retry'; readonly delayMs: number | undefined; readonly error: unknown }
  | { readonly kind: 'dead-letter'; readonly reason: DeadLetterReason; readonly error: unknown };

/**
 * The policy layer for one subscription: decode, validate, run middleware and the
 * handler, then ack, retry with backoff, or dead-letter. Written once for every
 * transport; the transport only hands over deliveries and settles them.
 *
 * Every delivery is settled exactly once, whatever the handler throws and whatever
 * fails while settling: see `track`.
 */
export class Consumer<TBody> {
  private readonly inFlight = new Set<InFlight>();
  /** The handler inside the consume middleware; undefined without middleware (the handler is called directly). */
  private readonly run: ((message: Message<unknown>, context: HandlerContext) => Promise<void>) | undefined;
  private transportSubscription: TransportSubscription | undefined;
  private readonly bucket: TokenBucket | undefined;
  /** Created before the first dead letter is published, so the dead-letter topic keeps it. */
  private deadLetterGroup: Promise<void> | undefined;
  /** Dead letters not stored yet, by message id, for transports whose redeliveries lose nack headers. */
  private readonly pending = new Map<string, PendingDeadLetter>();
  private stopping = false;
  /** Aborted when the subscription starts closing: delays core holds itself end at once. */
  private readonly closingSignal = new AbortController();
  private closing: Promise<void> | undefined;
  private closed = false;
  readonly stats = new StatsRecorder();
  /** The latest error seen by this subscription (transport errors, failed settlements, dead letters not stored). */
  lastError: { readonly message: string; readonly at: Date } | undefined;

  constructor(private readonly settings: ConsumerSettings<TBody>) {
    const handler = settings.handler as Handler<unknown>;
    this.bucket = settings.rateLimit ? new TokenBucket(settings.rateLimit) : undefined;
    this.run = settings.middleware.length > 0 ? compose<[Message<unknown>, HandlerContext]>(settings.middleware, async (message, context) => handler(message, context)) : undefined;
  }

  async start(concurrency: number): Promise<void> {
    const { transport, topic, group } = this.settings;
    this.transportSubscription = await transport.subscribe({
      topic: topic.name,
      group,
      concurrency,
      onDelivery: (delivery) => this.accept(delivery),
      onError: (error) => {
        this.noteError(error);
        this.log('error', { err: asLoggableError(error), topic: topic.name, group }, 'omnibus: transport error');
      },
    });
  }

  get topicName(): string {
    return this.settings.topic.name;
  }

  get group(): string {
    return this.settings.group;
  }

  /** Number of deliveries being handled now. */
  get activeCount(): number {
    return this.inFlight.size;
  }

  /** Messages whose dead-letter copy could not be stored yet (kept on the broker, retried with backoff). */
  get pendingDeadLetterCount(): number {
    return this.pending.size;
  }

  private accept(delivery: Delivery): void {
    const entry = new InFlight(delivery);
    this.stats.received += 1;
    if (this.stopping) {
      // Arrived after stop(): hand it back untouched.
      entry.claim();
      void this.outcome(entry, entry.settleWith((d) => d.nack()), { outcome: 'released' }).catch(() => {});
      return;
    }
    this.inFlight.add(entry);
    entry.done = this.track(entry);
  }

  /**
   * The one place that guarantees settlement: if handling or settling fails in any way
   * before ack or nack was called, the delivery is released for redelivery. (Once ack or
   * nack was called, the transport owns it: a lost ack means the broker redelivers.)
   */
  private async track(entry: InFlight): Promise<void> {
    try {
      await this.handle(entry);
    } catch (error) {
      this.stats.failedToSettle += 1;
      this.noteError(error);
      const released = entry.state !== 'settled';
      this.log('error', { err: asLoggableError(error), id: entry.delivery.message.id, topic: entry.delivery.message.topic, group: this.settings.group, released }, 'omnibus: failed to settle a delivery');
      if (released) await this.outcome(entry, entry.settleWith((d) => d.nack({ delayMs: backoffDelay(DEAD_LETTER_RETRY, 1) })), { outcome: 'released', error }).catch(() => {});
    } finally {
      this.inFlight.delete(entry);
    }
  }

  private async handle(entry: InFlight): Promise<void> {
    const { delivery } = entry;
    const transported = delivery.message;
    const { topic, codec } = this.settings;

    // Handling is over for this message: only its dead-letter copy is still to be stored.
    const pending = this.pendingFor(delivery);
    if (pending) return this.claimed(entry, () => this.deadLetter(entry, pending));

    let body: unknown;
    try {
      body = decodeWith(codec, transported.body);
    } catch (error) {
      return this.settle(entry, { kind: 'dead-letter', reason: 'undecodable', error });
    }
    if (topic.schema) {
      let checked = checkBody(topic.schema, body);
      if (checked instanceof Promise) {
        checked = await checked; // an async schema; a sync one costs no promise here
        if (entry.state !== 'handling') return; // released by a drain meanwhile
      }
      if (!checked.ok) return this.settle(entry, { kind: 'dead-letter', reason: 'invalid', error: new ValidationError(topic.name, checked.issues) });
      body = checked.value;
    }

    // Rate limited: wait for a token while the delivery stays unsettled (nothing is acked or dropped).
    const token = this.bucket?.take();
    if (token) {
      try {
        await token;
      } catch (error) {
        // The subscription is closing: hand the delivery back untouched, its handler never ran.
        if (!entry.claim()) return;
        return this.outcome(entry, entry.settleWith((d) => d.nack()), { outcome: 'released', error });
      }
      if (entry.state !== 'handling') return; // released by a drain meanwhile
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
      publishedAt: parseTime(transported.headers[EnvelopeHeaders.time]),
      envelope: transported.headers,
      metadata: delivery.metadata ?? NO_METADATA,
    };
    entry.message = message;
    const context: HandlerContext = {
      transport: this.settings.transport.name,
      group: this.settings.group,
      attempt: delivery.attempt,
      logger: this.settings.logger,
      idempotencyKey: undefined,
      get signal() {
        return entry.signal;
      },
      retry: (options) => {
        assertDelayMs(options?.delayMs, 'ctx.retry delayMs');
        explicit ??= { kind: 'retry', delayMs: options?.delayMs, error: new Error('retry requested by the handler') };
      },
      deadLetter: (reason) => {
        explicit ??= { kind: 'dead-letter', reason: 'explicit', error: new Error(safeString(reason)) };
      },
    };

    let failure: Decision | undefined;
    const started = performance.now();
    try {
      if (this.run) await this.run(message, context);
      else await (this.settings.handler as Handler<unknown>)(message, context);
    } catch (error) {
      failure = { kind: 'retry', delayMs: undefined, error };
    }
    this.stats.handled(performance.now() - started);
    const decision = explicit ?? failure;
    if (decision) return this.settle(entry, decision);
    // The common outcome, settled without the closures of settle(): ack.
    if (entry.state !== 'handling') return; // released by a drain, which reported it
    return this.outcome(entry, entry.ack(), ACKED);
  }

  /** Await a settlement, count it, then tell the settled hooks (a hook that throws is ignored). */
  private async outcome(entry: InFlight, settlement: Promise<void>, outcome: Outcome): Promise<void> {
    await settlement;
    this.inFlight.delete(entry); // settled: no longer in flight for stats, health and hooks
    this.stats.settled(outcome.outcome);
    const hooks = this.settings.settled;
    if (hooks.length === 0) return;
    const { delivery } = entry;
    const event: SettledEvent = {
      transport: this.settings.transport.name,
      topic: delivery.message.topic,
      group: this.settings.group,
      messageId: delivery.message.id,
      attempt: delivery.attempt,
      ...outcome,
      message: entry.message,
      metadata: delivery.metadata ?? NO_METADATA,
      headers: delivery.message.headers,
      bodyBytes: delivery.message.body.byteLength,
      durationMs: performance.now() - entry.startedAt,
    };
    for (const hook of hooks) {
      try {
        hook(event);
      } catch {
        // documented: hooks must not throw; one that does changes nothing
      }
    }
  }

  /** Run an outcome only if this delivery is still ours (a drain may have released it meanwhile). */
  private claimed(entry: InFlight, outcome: () => Promise<void>): Promise<void> {
    return entry.claim() ? outcome() : Promise.resolve();
  }

  private settle(entry: InFlight, decision: Decision): Promise<void> {
    return this.claimed(entry, async () => {
      const { delivery } = entry;
      const now = new Date().toISOString();
      const firstFailureAt = delivery.message.headers[EnvelopeHeaders.firstFailureAt] ?? now;
      let reason: DeadLetterReason;
      if (decision.kind === 'retry') {
        const verdict = decideRetry(this.settings.retry, decision.error, delivery.attempt);
        if (verdict.retry) {
          const delayMs = decision.delayMs ?? verdict.delayMs;
          this.log('debug', { id: delivery.message.id, topic: delivery.message.topic, group: this.settings.group, attempt: delivery.attempt, delayMs }, 'omnibus: retry scheduled');
          return this.outcome(entry, entry.settleWith((d) => this.nackAfter(d, delayMs, { [EnvelopeHeaders.firstFailureAt]: firstFailureAt })), { outcome: 'retry', delayMs, error: decision.error });
        }
        reason = verdict.reason;
      } else {
        reason = decision.reason;
      }
      return this.deadLetter(entry, { reason, failures: 0, error: decision.error, firstFailureAt, lastFailureAt: now });
    });
  }

  /** A dead letter still to be stored for this delivery, if its handling is over. */
  private pendingFor(delivery: Delivery): DeadLetterAttempt | undefined {
    const { message, attempt } = delivery;
    // Only a redelivery can carry core's own "dead letter pending" mark: a first delivery with it
    // was written by someone else (the header is reserved for core, a raw client could still set it).
    const remembered = (attempt > 1 ? pendingDeadLetterOf(message.headers) : undefined) ?? this.pending.get(message.id);
    const firstFailureAt = message.headers[EnvelopeHeaders.firstFailureAt] ?? new Date().toISOString();
    const lastFailureAt = new Date().toISOString();
    if (remembered) {
      const error = Object.assign(new Error(remembered.errorMessage), { name: remembered.errorName, stack: '' });
      return { reason: remembered.reason, failures: remembered.failures, error, firstFailureAt, lastFailureAt };
    }
    // The final attempt was handed over before (and not finished: a crash or a lost ack): never run it again.
    if (attempt > this.settings.retry.maxAttempts) {
      const error = new Error(`delivered again after its final attempt (attempt ${attempt}, maxAttempts ${this.settings.retry.maxAttempts})`);
      return { reason: 'max-attempts', failures: 0, error, firstFailureAt, lastFailureAt };
    }
    return undefined;
  }

  /**
   * Store the dead-letter copy, then ack. If it cannot be stored, the message is kept on the
   * broker (nacked, never acked), marked so that its handler never runs again, and the
   * dead-letter publish is retried with backoff.
   */
  private async deadLetter(entry: InFlight, attempt: DeadLetterAttempt): Promise<void> {
    const { delivery } = entry;
    const original = delivery.message;
    try {
      const copy = deadLetterMessage({
        original,
        deadLetterTopic: this.settings.deadLetterTopic,
        group: this.settings.group,
        attempt: delivery.attempt,
        reason: attempt.reason,
        error: attempt.error,
        firstFailureAt: attempt.firstFailureAt,
        lastFailureAt: attempt.lastFailureAt,
      });
      const bytes = messageBytes(copy);
      const limit = this.settings.transport.capabilities.maxMessageBytes;
      if (bytes > limit) throw new MessageTooLargeError({ topic: copy.topic, bytes, limit, what: 'the dead-letter copy' });
      // The dead-letter topic keeps its messages even before anyone reads it.
      this.deadLetterGroup ??= this.settings.transport.ensureGroup(this.settings.deadLetterTopic, DEAD_LETTER_GROUP);
      await this.deadLetterGroup.catch((error: unknown) => {
        this.deadLetterGroup = undefined;
        throw error;
      });
      await this.settings.transport.publish([copy]);
    } catch (cause) {
      const failures = attempt.failures + 1;
      const delayMs = backoffDelay(DEAD_LETTER_RETRY, failures);
      const error = new DeadLetterError(
        `message "${original.id}" of topic "${original.topic}" (group "${this.settings.group}") could not be stored in dead-letter topic "${this.settings.deadLetterTopic}" (${failures} failure${failures === 1 ? '' : 's'}): ${thrownMessage(cause)}; it is kept and the dead-letter publish is retried in ${delayMs} ms, its handler is not run again`,
        { cause, topic: this.settings.deadLetterTopic, messageId: original.id },
      );
      const description = describeThrown(attempt.error);
      const pending: PendingDeadLetter = { reason: attempt.reason, failures, errorName: description.name, errorMessage: description.message };
      this.remember(original.id, pending);
      this.noteError(error);
      this.log('error', { err: error, id: original.id, topic: original.topic, group: this.settings.group, reason: attempt.reason, failures, delayMs }, 'omnibus: dead-lettering failed, message kept');
      const settlement = entry.settleWith((d) => this.nackAfter(d, delayMs, { [EnvelopeHeaders.firstFailureAt]: attempt.firstFailureAt, ...pendingDeadLetterHeaders(pending) }));
      return this.outcome(entry, settlement, { outcome: 'dead-letter-pending', reason: attempt.reason, delayMs, error });
    }
    this.pending.delete(original.id);
    const failure = describeThrown(attempt.error);
    const err = Object.assign(new Error(failure.message), { name: failure.name, stack: failure.stack });
    this.log('warn', { id: original.id, topic: original.topic, group: this.settings.group, reason: attempt.reason, attempts: delivery.attempt, deadLetterTopic: this.settings.deadLetterTopic, err }, 'omnibus: message dead-lettered');
    await this.outcome(entry, entry.settleWith((d) => d.ack()), { outcome: 'dead-letter', reason: attempt.reason, error: attempt.error });
  }

  /**
   * Nack for redelivery after `delayMs`. A transport that declares `delayedRedelivery: 'none'`
   * cannot delay it: core then holds the delivery unsettled for the delay (released early, at
   * once, when the subscription closes) and nacks it without a delay, so backoff still holds.
   */
  private nackAfter(delivery: Delivery, delayMs: number | undefined, headers: Record<string, string>): Promise<void> {
    if (!delayMs || this.settings.transport.capabilities.delayedRedelivery !== 'none') return delivery.nack({ delayMs, headers });
    return pause(delayMs, this.closingSignal.signal).then(() => delivery.nack({ headers }));
  }

  private remember(id: string, pending: PendingDeadLetter): void {
    this.pending.delete(id);
    this.pending.set(id, pending);
    // Oldest first: a Map iterates in insertion order.
    if (this.pending.size > MAX_REMEMBERED_PENDING) this.pending.delete(this.pending.keys().next().value as string);
  }

  private noteError(error: unknown): void {
    this.lastError = { message: thrownMessage(error), at: new Date() };
  }

  /** Where the subscription is, for health: stalled when deliveries are held longer than `stallAfterMs` without progress. */
  health(stallAfterMs: number): SubscriptionHealth {
    const now = performance.now();
    let oldest = now;
    for (const entry of this.inFlight) if (entry.startedAt < oldest) oldest = entry.startedAt;
    const heldMs = now - oldest;
    const lastProgressAt = this.stats.lastProgressAt ? new Date(this.stats.lastProgressAt) : undefined;
    const progressedRecently = this.stats.lastProgressAt !== 0 && Date.now() - this.stats.lastProgressAt < stallAfterMs;
    const state: SubscriptionHealth['state'] = this.closed
      ? 'closed'
      : this.stopping
        ? 'draining'
        : this.inFlight.size > 0 && heldMs >= stallAfterMs && !progressedRecently
          ? 'stalled'
          : 'running';
    return { topic: this.settings.topic.name, group: this.settings.group, state, inFlight: this.inFlight.size, oldestInFlightMs: this.inFlight.size > 0 ? Math.round(heldMs) : 0, lastProgressAt, lastError: this.lastError };
  }

  /** A logger that throws must not keep a delivery from being settled. */
  private log(level: 'debug' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    try {
      this.settings.logger[level](fields, message);
    } catch {
      // nothing sensible to do: the log line is lost, the delivery is not
    }
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
    this.closingSignal.abort();
    await this.transportSubscription?.stop();
    // Deliveries waiting for a rate-limit token are released now rather than run during the drain.
    this.bucket?.cancel(new Error('subscription closing: released while waiting for its rate limit'));
    this.settings.onStopped?.();
    const finished = Promise.allSettled([...this.inFlight].map((entry) => entry.done)).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = await Promise.race([finished, expired]);
    clearTimeout(timer);
    if (!drained) {
      const left = [...this.inFlight];
      this.log('warn', { topic: this.settings.topic.name, group: this.settings.group, count: left.length, timeoutMs }, 'omnibus: drain timeout, releasing unfinished messages for redelivery');
      // Only deliveries still in their handler are released; one whose outcome is being carried
      // out (a dead-letter publish in flight) is owned by that outcome and awaited instead.
      await Promise.allSettled(
        left.map((entry) => {
          if (!entry.claim()) return entry.done;
          const reason = new Error('subscription closed: drain timeout expired');
          entry.abort(reason);
          return this.outcome(entry, entry.settleWith((d) => d.nack()), { outcome: 'released', error: reason });
        }),
      );
    }
    await this.transportSubscription?.close();
    this.closed = true;
  }
}

const ACKED: Outcome = { outcome: 'ack' };

/** A dead letter to store: why, the failure it records, and how often storing it failed already. */
interface DeadLetterAttempt {
  readonly reason: DeadLetterReason;
  readonly failures: number;
  readonly error: unknown;
  readonly firstFailureAt: string;
  readonly lastFailureAt: string;
}

/** The group core declares on every dead-letter topic, so its messages are kept until read. */
export const DEAD_LETTER_GROUP = 'omnibus-dead-letter';

function parseTime(value: string | undefined): Date {
  const time = value ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? new Date(0) : new Date(time);
}
