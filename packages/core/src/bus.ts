import { randomUUID } from 'node:crypto';
import type { Codec } from './codec.js';
import { Consumer, DEAD_LETTER_GROUP } from './consumer.js';
import { DEAD_LETTER_HEADROOM_BYTES } from './dead-letter.js';
import { assertBoundSupported, type TopicBound } from './bound.js';
import { assertHeaderValues, MAX_CONCURRENCY } from './kit/validation.js';
import { assertDelayMs, delayUntil } from './delay.js';
import { ClosedError, ConfigError, MessageTooLargeError, UnsupportedError, ValidationError } from './errors.js';
import { EnvelopeHeaders, isReservedHeader } from './headers.js';
import type { Logger } from './logger.js';
import type { Handler, Middleware, Publication } from './message.js';
import { DEFAULT_STALL_AFTER_MS, summarizeHealth, type BusHealth, type HealthOptions } from './health.js';
import type { TopicInspection } from './inspection.js';
import { compose } from './middleware.js';
import type { SubscriptionStats } from './subscription-stats.js';
import { messageBytesOver } from './message-size.js';
import { PublishWindow } from './publish-window.js';
import { BatchAssembly } from './batch-assembly.js';
import { Batcher, BatchOptionsSchema, type BatchHandler } from './batch.js';
import { idempotentHandler, IdempotencyOptionsSchema, type IdempotencyOptions } from './idempotency/idempotent-handler.js';
import { RateLimitSchema, type RateLimit } from './rate-limit.js';
import { RetryPolicySchema, type RetryPolicyInput } from './retry.js';
import { assertGroupName, assertTopicName, MAX_TOPIC_NAME_LENGTH, rawTopic, type Topic } from './topic.js';
import type { OutgoingMessage, Transport } from './transport.js';
import { parseOptions } from './validate.js';
import { number, optional, type OutputOf, strictObject, string, withDefault } from './options/rules.js';
import { checkBody, type Checked } from './schema-validation.js';

export interface PublishOptions {
  /** Partitioning / ordering key. */
  readonly key?: string | undefined;
  /** User headers (e.g. traceparent); names starting with `ce-` or `omnibus-` are reserved. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Message id; a UUID by default. Reuse it when re-publishing so consumers can deduplicate. */
  readonly id?: string | undefined;
  /** Deliver no earlier than this many milliseconds from now. */
  readonly delayMs?: number | undefined;
  /**
   * Deliver no earlier than this time (scheduled delivery); a time already past delivers at once.
   * At most MAX_DELAY_MS (24 days) ahead on every transport; give `delayMs` or `deliverAt`, not both.
   */
  readonly deliverAt?: Date | undefined;
}

export interface BatchItem<TBody> extends PublishOptions {
  readonly body: TBody;
}

const group = string;
const commonSubscribeOptions = {
  retry: withDefault(RetryPolicySchema, {}),
  deadLetter: withDefault(strictObject({ topic: optional(string) }), {}),
  drainTimeoutMs: optional(number({ int: true, min: 0 })),
  rateLimit: optional(RateLimitSchema),
};

// Keys in this order: the first bad one is the field a ConfigError names.
const SubscribeOptionsSchema = strictObject({
  group,
  concurrency: withDefault(number({ int: true, min: 1, max: MAX_CONCURRENCY }), 1),
  ...commonSubscribeOptions,
  idempotency: optional(IdempotencyOptionsSchema),
});

// A batch subscription's concurrency counts batches; idempotency is per message, which a batch handler does not have.
const SubscribeBatchOptionsSchema = strictObject({ group, ...commonSubscribeOptions, ...BatchOptionsSchema.shape });

export interface SubscribeOptions {
  /** Durable group: fan-out across groups, competing consumers within one. */
  readonly group: string;
  /** Handlers running at once (also the broker prefetch). Default 1. */
  readonly concurrency?: number;
  readonly retry?: RetryPolicyInput;
  /** Dead-letter topic; default `<topic>.dlq`. Read it with `deadLetterTopicOf`. */
  readonly deadLetter?: { readonly topic?: string };
  /** How long close() waits for in-flight handlers; default the bus's. */
  readonly drainTimeoutMs?: number;
  /**
   * At most `messages` handler starts per `perMs`, across the subscription's concurrent handlers
   * (a token bucket; bursts up to `messages`). Deliveries waiting for their turn stay unsettled:
   * nothing is acked, retried or dropped while waiting.
   */
  readonly rateLimit?: RateLimit;
  /** Run each message's handler once per key across redeliveries (see IdempotencyOptions). */
  readonly idempotency?: IdempotencyOptions;
}

/** `subscribeBatch` options: a subscription's options, with batching instead of per-message concurrency. */
export interface SubscribeBatchOptions extends Omit<SubscribeOptions, 'concurrency' | 'idempotency'> {
  /** Most messages per batch handler call (default 100). */
  readonly maxBatch?: number;
  /** Hand a batch over this long after its first message even if not full (default 100 ms). */
  readonly maxWaitMs?: number;
  /** Batches handled at once (default 1); up to maxBatch × concurrency messages are held unsettled. */
  readonly concurrency?: number;
}

export interface Subscription extends AsyncDisposable {
  readonly topic: string;
  readonly group: string;
  /** Local statistics of this subscription (counters, handler percentiles, throughput). */
  stats(): SubscriptionStats;
  /** Drain: stop fetching, wait for in-flight handlers (up to the drain timeout), disconnect. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

export interface BusSettings {
  readonly transport: Transport;
  readonly codec: Codec;
  readonly logger: Logger;
  readonly source: string;
  readonly middleware: readonly Middleware[];
  readonly drainTimeoutMs: number;
  /** Messages handed to the transport and not yet accepted, across all publish calls (default 4,096). */
  readonly maxPublishesInFlight?: number | undefined;
}

/** Enough to keep every transport's pipeline full, small enough that a burst's encoded bytes stay bounded. */
export const DEFAULT_MAX_PUBLISHES_IN_FLIGHT = 4_096;

/** The default dead-letter topic of a topic. */
export function deadLetterTopicName(topic: string): string {
  return `${topic}.dlq`;
}

/** A raw topic to read the dead-letter topic of `topic` (bodies as bytes, DLQ headers in envelope). */
export function deadLetterTopicOf(topic: Topic<unknown> | string, deadLetterTopic?: string): Topic<Uint8Array> {
  const name = typeof topic === 'string' ? topic : topic.name;
  return rawTopic(deadLetterTopic ?? deadLetterTopicName(name));
}

export { DEAD_LETTER_GROUP };

/** The bus: publish and subscribe typed messages over one transport. */
export class Bus implements AsyncDisposable {
  private readonly consumers = new Set<Consumer<unknown>>();
  private readonly publishChain: (publication: Publication) => Promise<void>;
  private readonly hasPublishMiddleware: boolean;
  private closed: Promise<void> | undefined;
  /** Publish calls so far: each call's publications share its number as `batchId`. */
  private batches = 0;
  /**
   * The publish call each publication belongs to, for the innermost publish step (composed once for
   * the bus, so it finds the call by the publication it is given).
   */
  private readonly assemblies = new WeakMap<Publication, { readonly assembly: BatchAssembly; readonly codec: Codec; arrived: boolean }>();
  private readonly window: PublishWindow;
  /** The largest message accepted for publishing: the transport's limit less the room its dead-letter copy needs. */
  private readonly maxPublishBytes: number;
  /** Topics with settings (a bound) told to the transport, once per topic name: see Transport.declareTopic. */
  private readonly declared = new Map<string, { readonly bound: TopicBound; readonly done: Promise<void> }>();

  constructor(private readonly settings: BusSettings) {
    this.window = new PublishWindow(settings.maxPublishesInFlight ?? DEFAULT_MAX_PUBLISHES_IN_FLIGHT);
    const limit = settings.transport.capabilities.maxMessageBytes;
    this.maxPublishBytes = limit - Math.min(DEAD_LETTER_HEADROOM_BYTES, Math.floor(limit / 2));
    const steps = settings.middleware.flatMap((m) => (m.publish ? [m.publish] : []));
    this.hasPublishMiddleware = steps.length > 0;
    this.publishChain = compose<[Publication]>(steps, async (publication) => this.enqueue(publication));
  }

  get transport(): Transport {
    return this.settings.transport;
  }

  /** Publish one message; resolves when the broker durably accepted it. */
  publish<TInput>(topic: Topic<unknown, TInput>, body: TInput, options: PublishOptions = {}): Promise<string> {
    return this.publishItems(topic, [{ ...options, body }], firstId);
  }

  /**
   * Publish many messages of one topic in one transport call. Every body is
   * validated first: if one fails, nothing is sent. Resolves with the ids when
   * all were durably accepted.
   */
  publishBatch<TInput>(topic: Topic<unknown, TInput>, items: readonly BatchItem<TInput>[]): Promise<string[]> {
    return this.publishItems(topic, items, allIds);
  }

  /** publish and publishBatch: `result` picks what the caller gets from the ids (no extra promise per call). */
  private publishItems<TInput, TResult>(topic: Topic<unknown, TInput>, items: readonly BatchItem<TInput>[], result: (ids: string[]) => TResult): Promise<TResult> {
    let pending: Promise<void>[] | undefined;
    try {
      this.assertOpen();
      const many = items.length > 1;
      let delayed = false;
      for (let index = 0; index < items.length; index++) {
        const item = items[index] as BatchItem<TInput>;
        const validating = this.check(topic, item, many ? index : undefined);
        if (validating) (pending ??= []).push(validating);
        if (item.delayMs || item.deliverAt) delayed = true;
      }
      if (delayed && this.settings.transport.capabilities.delayedPublish === 'none') {
        throw new UnsupportedError(`transport "${this.settings.transport.name}" does not support delayed publish`);
      }
      if (!pending) {
        const declared = this.declareTopic(topic);
        if (declared) return declared.then(() => this.publishDeclared(topic, items, result));
      }
    } catch (error) {
      for (const validating of pending ?? []) validating.catch(() => {}); // the call failed already: nobody awaits them
      return Promise.reject(error);
    }
    if (pending) return this.publishValidated(topic, items, result, pending);
    return this.publishDeclared(topic, items, result);
  }

  /**
   * A schema that validates asynchronously: every body is validated before anything is sent, and
   * the first failing one (in batch order) rejects the call, as a synchronous one would.
   */
  private async publishValidated<TInput, TResult>(topic: Topic<unknown, TInput>, items: readonly BatchItem<TInput>[], result: (ids: string[]) => TResult, pending: readonly Promise<void>[]): Promise<TResult> {
    const outcomes = await Promise.allSettled(pending);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    this.assertOpen();
    await this.declareTopic(topic);
    return this.publishDeclared(topic, items, result);
  }

  private publishDeclared<TInput, TResult>(topic: Topic<unknown, TInput>, items: readonly BatchItem<TInput>[], result: (ids: string[]) => TResult): Promise<TResult> {
    const time = new Date().toISOString(); // one publish call, one ce-time
    // Back-pressure across calls, before anything is built or encoded (see PublishWindow).
    if (this.window.tryAcquire(items.length)) return this.sendBatch(topic, items, time, result);
    return new Promise<TResult>((resolve, reject) => {
      this.window.enqueue(items.length, () => void this.sendBatch(topic, items, time, result).then(resolve, reject));
    });
  }

  /** Build, encode and send a checked batch that holds its room in the window. */
  private async sendBatch<TInput, TResult>(topic: Topic<unknown, TInput>, items: readonly BatchItem<TInput>[], time: string, result: (ids: string[]) => TResult): Promise<TResult> {
    try {
      this.assertOpen();
      const batchId = ++this.batches;
      const publications = items.map((item, index) => this.publicationOf(topic, item, index, items.length, batchId, time));
      await this.runBatch(topic, publications);
      return result(publications.map((e) => e.id));
    } finally {
      this.window.release(items.length);
    }
  }

  /** Start a durable consumer of `topic` in `options.group`. */
  async subscribe<TBody, TInput>(topic: Topic<TBody, TInput>, handler: Handler<TBody>, options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const parsed = parseOptions(SubscribeOptionsSchema, options, 'subscribe options');
    const run = parsed.idempotency ? idempotentHandler(handler, parsed.idempotency, parsed.group) : handler;
    return this.startConsumer(topic, run, parsed, parsed.concurrency, undefined);
  }

  /**
   * Start a durable consumer that handles messages in batches (a log pipeline writing many rows
   * at once). Every message keeps its own outcome: the batch handler returning acks all of them,
   * throwing retries each by its own retry policy, and `ctx.retry(message)` / `ctx.deadLetter(message)`
   * single one out. Undecodable and invalid messages are dead-lettered before they join a batch.
   */
  async subscribeBatch<TBody, TInput>(topic: Topic<TBody, TInput>, handler: BatchHandler<TBody>, options: SubscribeBatchOptions): Promise<Subscription> {
    this.assertOpen();
    const parsed = parseOptions(SubscribeBatchOptionsSchema, options, 'subscribeBatch options');
    if (parsed.maxBatch * parsed.concurrency > MAX_CONCURRENCY) {
      throw new ConfigError('subscribeBatch options.maxBatch', `maxBatch × concurrency (${parsed.maxBatch} × ${parsed.concurrency}) is the number of deliveries held unsettled, at most ${MAX_CONCURRENCY}: lower one of them`);
    }
    const batcher = new Batcher<TBody>(handler, parsed, { transport: this.settings.transport.name, group: parsed.group, logger: this.settings.logger });
    // Enough deliveries unsettled to fill every batch that may run at once.
    return this.startConsumer(topic, batcher.handle, parsed, parsed.maxBatch * parsed.concurrency, () => batcher.flush());
  }

  private async startConsumer<TBody, TInput>(
    topic: Topic<TBody, TInput>,
    handler: Handler<TBody>,
    parsed: { readonly group: string; readonly retry: OutputOf<typeof RetryPolicySchema>; readonly deadLetter: { readonly topic?: string | undefined }; readonly drainTimeoutMs?: number | undefined; readonly rateLimit?: RateLimit | undefined },
    concurrency: number,
    onStopped: (() => void) | undefined,
  ): Promise<Subscription> {
    assertGroupName(parsed.group, 'group');
    const deadLetterTopic = parsed.deadLetter.topic ?? deadLetterTopicName(topic.name);
    if (parsed.deadLetter.topic === undefined && deadLetterTopic.length > MAX_TOPIC_NAME_LENGTH) {
      throw new ConfigError('deadLetter.topic', `the default dead-letter topic of "${topic.name}" ("<topic>.dlq") would be ${deadLetterTopic.length} characters, over ${MAX_TOPIC_NAME_LENGTH}: pass a shorter deadLetter.topic`);
    }
    assertTopicName(deadLetterTopic, 'deadLetter.topic');
    await this.declareTopic(topic);
    const consumer = new Consumer<TBody>({
      transport: this.settings.transport,
      topic: topic,
      group: parsed.group,
      handler,
      codec: topic.codec ?? this.settings.codec,
      retry: parsed.retry,
      deadLetterTopic,
      middleware: this.settings.middleware.flatMap((m) => (m.consume ? [m.consume] : [])),
      settled: this.settings.middleware.flatMap((m) => (m.settled ? [m.settled] : [])),
      logger: this.settings.logger,
      rateLimit: parsed.rateLimit,
      onStopped,
    });
    await consumer.start(concurrency);
    this.consumers.add(consumer as Consumer<unknown>);
    const drainTimeoutMs = parsed.drainTimeoutMs ?? this.settings.drainTimeoutMs;
    const close = async (closeOptions?: { timeoutMs?: number }) => {
      await consumer.close(closeOptions?.timeoutMs ?? drainTimeoutMs);
      this.consumers.delete(consumer as Consumer<unknown>);
    };
    const stats = () => consumer.stats.snapshot(topic.name, parsed.group, consumer.activeCount);
    return { topic: topic.name, group: parsed.group, stats, close, [Symbol.asyncDispose]: () => close() };
  }

  /** Create a group without consuming, so messages published from now on are kept for it. */
  async ensureGroup(topic: Topic<unknown> | string, group: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    if (typeof topic !== 'string') await this.declareTopic(topic);
    await this.settings.transport.ensureGroup(typeof topic === 'string' ? topic : topic.name, group);
  }

  /**
   * Remove a group and everything kept for it (messages waiting for it are dropped: use it for
   * temporary readers). Throws an UnsupportedError where the transport cannot.
   */
  async deleteGroup(topic: { readonly name: string } | string, group: string): Promise<void> {
    this.assertOpen();
    assertGroupName(group);
    const transport = this.settings.transport;
    if (!transport.deleteGroup) throw new UnsupportedError(`transport "${transport.name}" cannot delete a group`);
    await transport.deleteGroup(typeof topic === 'string' ? topic : topic.name, group);
  }

  /** Local statistics of every open subscription of this bus. */
  stats(): SubscriptionStats[] {
    return [...this.consumers].map((consumer) => consumer.stats.snapshot(consumer.topicName, consumer.group, consumer.activeCount));
  }

  /** The transport's connection and every subscription, for liveness and readiness probes. */
  health(options: HealthOptions = {}): BusHealth {
    const stallAfterMs = options.stallAfterMs ?? DEFAULT_STALL_AFTER_MS;
    const transport = this.settings.transport;
    return summarizeHealth(transport.name, transport.health?.(), [...this.consumers].map((consumer) => consumer.health(stallAfterMs)), this.closed !== undefined);
  }

  /**
   * Depth and lag of `topic` (for `group`, or every group the broker knows) as the broker
   * reports them, with the dead letters waiting in its dead-letter topic.
   */
  async inspect(topic: { readonly name: string } | string, group?: string, options: { deadLetterTopic?: string } = {}): Promise<TopicInspection> {
    this.assertOpen();
    const transport = this.settings.transport;
    if (!transport.inspect) throw new UnsupportedError(`transport "${transport.name}" cannot inspect depth and lag`);
    const name = typeof topic === 'string' ? topic : topic.name;
    if (group !== undefined) assertGroupName(group);
    const deadLetterTopic = options.deadLetterTopic ?? deadLetterTopicName(name);
    const [own, dead] = await Promise.all([transport.inspect(name, group), transport.inspect(deadLetterTopic, DEAD_LETTER_GROUP)]);
    const deadGroup = dead.groups.find((g) => g.group === DEAD_LETTER_GROUP);
    return { ...own, transport: transport.name, deadLettered: deadGroup?.waiting };
  }

  /** Drain every subscription, then disconnect the transport. Idempotent. */
  close(options?: { timeoutMs?: number }): Promise<void> {
    this.closed ??= (async () => {
      const timeoutMs = options?.timeoutMs ?? this.settings.drainTimeoutMs;
      await Promise.allSettled([...this.consumers].map((consumer) => consumer.close(timeoutMs)));
      this.consumers.clear();
      await this.settings.transport.close();
    })();
    return this.closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Tell the transport a bounded topic's bound once, before anything touches the topic.
   * Undefined for a topic without settings (the common path adds nothing). Throws when the
   * transport cannot keep the bound, or the bus saw the same name with another bound.
   */
  private declareTopic(topic: Topic<unknown, unknown>): Promise<void> | undefined {
    const bound = topic.bound;
    if (!bound) {
      if (this.declared.has(topic.name)) throw new ConfigError('bound', `topic "${topic.name}" was used bounded on this bus and is now used without its bound: define it once and share the definition`);
      return undefined;
    }
    const known = this.declared.get(topic.name);
    if (known) {
      if (!sameBound(known.bound, bound)) throw new ConfigError('bound', `topic "${topic.name}" is used with two different bounds on this bus: define it once and share the definition`);
      return known.done;
    }
    const transport = this.settings.transport;
    assertBoundSupported(transport, topic.name, bound);
    if (!transport.declareTopic) throw new UnsupportedError(`transport "${transport.name}" declares bounded topics but has no declareTopic()`);
    const done = transport.declareTopic(topic.name, { bound });
    this.declared.set(topic.name, { bound, done });
    // A failed declaration is tried again by the next call instead of failing every later one.
    done.catch(() => {
      if (this.declared.get(topic.name)?.done === done) this.declared.delete(topic.name);
    });
    return done;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('the bus is closed');
  }

  /**
   * Everything that can be wrong with an item, checked before it waits for the window or is built.
   * Returns a promise only where the topic's schema validates asynchronously (it rejects with the
   * ValidationError); everything else throws at once.
   */
  private check<TInput>(topic: Topic<unknown, TInput>, item: BatchItem<TInput>, index: number | undefined): Promise<void> | undefined {
    // The wire carries the schema's input: the consumer validates it again, so a transform or a
    // default runs once, on the way in to the handler (its output would not validate again).
    let validating: Promise<void> | undefined;
    if (topic.schema) {
      const checked = checkBody(topic.schema, item.body);
      if (checked instanceof Promise) validating = checked.then((result) => refuseInvalid(topic.name, result, index));
      else refuseInvalid(topic.name, checked, index);
    }
    const headers = item.headers;
    if (headers) {
      for (const name in headers) {
        if (isReservedHeader(name)) throw new ConfigError(`headers.${name}`, 'is reserved for Omnibus envelope headers (ce-*, omnibus-*, content-type); choose another name');
      }
      assertHeaderValues(headers);
    }
    assertDelayMs(item.delayMs, 'delayMs');
    if (item.deliverAt !== undefined) {
      if (item.delayMs !== undefined) throw new ConfigError('deliverAt', 'give delayMs or deliverAt, not both');
      delayUntil(item.deliverAt, 'deliverAt'); // refused before anything waits or is built
    }
    return validating;
  }

  /** The publication of a checked item. */
  private publicationOf<TInput>(topic: Topic<unknown, TInput>, item: BatchItem<TInput>, batchIndex: number, batchSize: number, batchId: number, time: string): Publication {
    const headers: Record<string, string> = item.headers ? { ...item.headers } : {};
    const id = item.id ?? randomUUID();
    const codec = topic.codec ?? this.settings.codec;
    headers[EnvelopeHeaders.id] = id;
    headers[EnvelopeHeaders.source] = this.settings.source;
    headers[EnvelopeHeaders.type] = topic.name;
    headers[EnvelopeHeaders.time] = time;
    headers[EnvelopeHeaders.specVersion] = '1.0';
    headers[EnvelopeHeaders.contentType] = codec.contentType;
    const delayMs = item.deliverAt === undefined ? item.delayMs : delayUntil(item.deliverAt, 'deliverAt');
    return { topic: topic.name, id, key: item.key, headers, body: item.body, delayMs, transport: this.settings.transport.name, batchSize, batchIndex, batchId, bodyBytes: undefined };
  }

  /**
   * Every publication goes through the publish middleware; their innermost steps hand the encoded
   * messages to one BatchAssembly, which sends them in one transport call once every chain got
   * there (or ended without it). Each chain's next() resolves when the batch is durable.
   */
  private async runBatch(topic: Topic<unknown, unknown>, publications: Publication[]): Promise<void> {
    const codec = topic.codec ?? this.settings.codec;
    // Without publish middleware there is nothing to run around each message: one call.
    if (!this.hasPublishMiddleware) return this.send(publications.map((publication) => encode(publication, codec, false)));
    const assembly = new BatchAssembly(publications.length, (messages) => this.send(messages));
    await Promise.all(
      publications.map(async (publication) => {
        const entry = { assembly, codec, arrived: false };
        this.assemblies.set(publication, entry);
        try {
          await this.publishChain(publication);
        } finally {
          if (!entry.arrived) assembly.skip();
        }
      }),
    );
  }

  /** Hand a batch to the transport once every message is known to fit: nothing is sent otherwise. */
  private send(batch: OutgoingMessage[]): Promise<void> {
    const limit = this.maxPublishBytes;
    for (let index = 0; index < batch.length; index++) {
      const bytes = messageBytesOver(batch[index] as OutgoingMessage, limit);
      if (bytes !== undefined) {
        const hint = ` (transport "${this.settings.transport.name}" accepts ${this.settings.transport.capabilities.maxMessageBytes}, less ${this.settings.transport.capabilities.maxMessageBytes - limit} kept for the dead-letter headers)`;
        return Promise.reject(new MessageTooLargeError({ topic: (batch[index] as OutgoingMessage).topic, bytes, limit, index: batch.length > 1 ? index : undefined, hint }));
      }
    }
    return this.settings.transport.publish(batch);
  }

  /** The innermost publish step: the publication, as middleware left it, joins its call's assembly. */
  private enqueue(publication: Publication): Promise<void> {
    const entry = this.assemblies.get(publication);
    if (!entry) return Promise.reject(new Error('publish middleware must pass the publication it received to next()'));
    if (entry.arrived) return Promise.reject(new Error('publish middleware called next() twice for one message'));
    entry.arrived = true;
    const message = encode(publication, entry.codec, true);
    publication.bodyBytes = message.body.byteLength;
    return entry.assembly.arrive(message);
  }
}

const firstId = (ids: string[]): string => ids[0] as string;

function sameBound(a: TopicBound, b: TopicBound): boolean {
  return a.maxMessages === b.maxMessages && a.maxBytes === b.maxBytes && a.overflow === b.overflow;
}
const allIds = (ids: string[]): string[] => ids;

/** `copyHeaders`: middleware may still hold the publication, so the sent headers must not change under it. */
function encode(publication: Publication, codec: Codec, copyHeaders: boolean): OutgoingMessage {
  return {
    id: publication.id,
    deduplicationId: publication.id,
    topic: publication.topic,
    key: publication.key,
    headers: copyHeaders ? { ...publication.headers } : publication.headers,
    body: codec.encode(publication.body),
    delayMs: publication.delayMs,
  };
}

/** Throw the ValidationError of a body that failed its schema (paths start with the batch index in a batch). */
function refuseInvalid(topic: string, checked: Checked<unknown>, index: number | undefined): void {
  if (checked.ok) return;
  const issues = index === undefined ? checked.issues : checked.issues.map((issue) => ({ ...issue, path: [index, ...issue.path] }));
  throw new ValidationError(topic, issues);
}
