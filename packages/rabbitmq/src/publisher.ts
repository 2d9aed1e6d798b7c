import type { ChannelModel, ConfirmChannel, Message, Options } from 'amqplib';
import { backoffDelay, ClosedError, ConnectionError, exponentialBackoff, pause, PublishError, SettleOnce, QueueFullError, isOmnibusError, type Backoff, type Logger, type TopicBound } from '@omnibus/core';
import { describeBound } from './bound.js';
import { closeChannel, openChannel, type ChannelHandle } from './channels.js';
import { TransportHeaders } from './codec.js';
import type { ConnectionManager } from './connection.js';
import type { Scrubber } from './errors.js';
import { Fifo } from './fifo.js';
import { refusalOf, statedMaxBodyBytes } from './refusals.js';
import type { RabbitMQOptions } from './options.js';

/** One AMQP publish, with what it needs declared first. */
export interface AmqpPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
  /**
   * Must reach a queue: the broker returns it otherwise (basic.return) and it is re-declared
   * and re-sent, then refused. Set for delay-queue and direct-to-queue publishes, where an
   * unroutable message would be lost; NOT for topic publishes, where a topic without groups
   * legitimately keeps nothing.
   */
  readonly mandatory: boolean;
  /** For error messages. */
  readonly topic: string;
  /** Declares what the message needs (cached per connection); `key` dedupes it within a batch. */
  readonly prepareKey: string;
  readonly prepare: () => Promise<void>;
  /** Forget those declarations: the message came back unroutable or its channel died. */
  readonly forget: () => void;
  /**
   * Set when this publish goes to the bounded queues of a topic declared with a `reject` bound:
   * a basic.nack then means a queue had no room (the nack carries no reason; x-overflow
   * reject-publish is what makes a classic queue nack), and it fails with a QueueFullError.
   */
  readonly rejectBound?: TopicBound | undefined;
}

/** After this many lost channels or returns, a message is refused instead of re-sent. */
const MAX_CHANNEL_LOSSES = 10;
const MAX_RETURNS = 3;
/** Declaring before a publish is retried at most this far apart (the publish deadline bounds the wait). */
const MAX_DECLARE_RETRY_MS = 1_000;

/** One publish() call: settles once every one of its messages is settled (one promise per call, not per message). */
class Batch {
  remaining: number;
  failed = 0;
  readonly done: Promise<void>;
  private finish!: () => void;

  constructor(size: number) {
    this.remaining = size;
    this.done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
  }

  settled(): void {
    if (--this.remaining === 0) this.finish();
  }
}

class Pending {
  /** Settled once: by its confirm, a refusal, the deadline or close, whichever comes first. */
  readonly once = new SettleOnce();
  /** Why it was refused, once settled with a failure. */
  error: Error | undefined;
  /** The channel it was last sent on, until its confirm arrives. */
  sentOn: ChannelHandle<ConfirmChannel> | undefined;
  returned = false;
  returns = 0;
  channelLosses = 0;

  constructor(
    readonly publish: AmqpPublish,
    readonly signal: AbortSignal | undefined,
    readonly batch: Batch,
  ) {}

  resolve(): void {
    this.batch.settled();
  }

  reject(error: Error): void {
    this.error = error;
    this.batch.failed += 1;
    this.batch.settled();
  }
}

/**
 * Publishes with publisher confirms on one ConfirmChannel. publish() resolves when the broker
 * confirmed every message. At most `publishWindow` messages are unconfirmed at once, and when
 * amqplib's write buffer is full (publish() returns false) sending pauses until 'drain', so a
 * burst waits in the caller's own batch instead of growing buffers.
 *
 * A message whose channel dies before its confirm is re-sent on the next channel (after its
 * topology is declared again): at-least-once, duplicates possible, ids let consumers dedupe.
 * A broker nack, a refused declaration or the deadline reject it with a PublishError.
 */
export class Publisher {
  private handle: ChannelHandle<ConfirmChannel> | undefined;
  private readonly queue = new Fifo<Pending>();
  private readonly inflight = new Set<Pending>();
  private inflightBytes = 0;
  private readonly unsettled = new Set<Pending>();
  private readonly tokens = new Map<string, Pending>();
  /** Aborted when nothing is left unsettled: close() waits for it (bounded). */
  private readonly idle = new AbortController();
  private retrying: Pending[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private awaitingDrain = false;
  private nextToken = 0;
  private channelFailures = 0;
  private closed = false;
  /** Why the connection is down, while it is; undefined when connected. */
  private lostConnection: Error | undefined;
  /**
   * The broker's max_message_size, once a refusal stated it (per connection): a larger body is
   * then refused here, instead of being sent to close the channel under every other publish.
   */
  private brokerMaxBodyBytes: number | undefined;
  /** Between re-opens of a lost publish channel. */
  private readonly reopenBackoff: Backoff;
  /** Between attempts to declare what a publish needs, while the connection is down. */
  private readonly declareBackoff: Backoff;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly options: RabbitMQOptions,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
  ) {
    this.reopenBackoff = exponentialBackoff(options.reconnect.initialDelayMs, options.reconnect.maxDelayMs);
    this.declareBackoff = exponentialBackoff(options.reconnect.initialDelayMs, MAX_DECLARE_RETRY_MS);
    connection.listen({
      connected: (model) => {
        this.lostConnection = undefined;
        this.brokerMaxBodyBytes = undefined;
        this.openOn(model);
      },
      disconnected: (error) => {
        this.lostConnection = error;
      },
    });
  }

  /** Send and wait for every confirm; rejects with a PublishError if any was not confirmed. */
  async publish(publishes: readonly AmqpPublish[], signal?: AbortSignal): Promise<void> {
    if (this.closed) throw new ClosedError('the rabbitmq transport is closed');
    if (publishes.length === 0) return;
    if (signal?.aborted) throw new PublishError('rabbitmq: publish aborted', { topic: publishes[0]?.topic });
    const batch = new Batch(publishes.length);
    const items = new Array<Pending>(publishes.length);
    for (let i = 0; i < publishes.length; i++) {
      const item = new Pending(publishes[i] as AmqpPublish, signal, batch);
      items[i] = item;
      this.unsettled.add(item);
    }
    const timeoutMs = this.options.publishTimeoutMs;
    const timer = setTimeout(() => {
      // While the broker is unreachable the timeout is a connection failure, and says so.
      const cause = this.lostConnection
        ? new ConnectionError(`rabbitmq: the broker is unreachable (${this.scrub.text(this.lostConnection.message)}); reconnecting`)
        : undefined;
      for (const item of items) {
        this.fail(item, new PublishError(`rabbitmq: no publisher confirm within ${timeoutMs} ms${cause ? ' (not connected)' : ''}`, { topic: item.publish.topic, cause }));
      }
    }, timeoutMs);
    let onAbort: (() => void) | undefined;
    if (signal) {
      onAbort = () => {
        for (const item of items) if (!item.sentOn) this.fail(item, new PublishError('rabbitmq: publish aborted', { topic: item.publish.topic }));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
    void this.submit(items, 0);
    await batch.done;
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (batch.failed === 0) return;
    const failures: Error[] = [];
    for (const item of items) if (item.error) failures.push(item.error);
    const [first] = failures;
    if (!first) return;
    if (items.length === 1) throw first;
    if (failures.every((failure) => failure instanceof QueueFullError)) {
      throw new QueueFullError((first as QueueFullError).topic, `${failures.length} of ${items.length} messages of the batch were refused; the others were stored`, { cause: first });
    }
    throw new PublishError(`rabbitmq: ${failures.length} of ${items.length} messages were not accepted; first: ${first.message}`, {
      cause: first,
      topic: items[0]?.publish.topic,
    });
  }

  /** Stop accepting, wait (bounded) for what is in flight, then reject the rest and close the channel. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.unsettled.size > 0) await pause(this.options.closeTimeoutMs, this.idle.signal);
    clearTimeout(this.retryTimer);
    for (const item of [...this.unsettled]) this.fail(item, new PublishError('rabbitmq: the transport was closed before the broker confirmed', { topic: item.publish.topic }));
    const handle = this.handle;
    this.handle = undefined;
    await closeChannel(handle);
  }

  /** Declare what the items need, then queue them for sending. Retries while the connection is down. */
  private async submit(items: Pending[], failures: number): Promise<void> {
    const live = items.filter((item) => !item.once.done);
    if (live.length === 0) return;
    // Usually one topic: one declaration to await (cached per connection), no map.
    const firstKey = (live[0] as Pending).publish.prepareKey;
    let prepares: Map<string, () => Promise<void>> | undefined;
    for (const item of live) {
      if (item.publish.prepareKey === firstKey && !prepares) continue;
      prepares ??= new Map([[firstKey, (live[0] as Pending).publish.prepare]]);
      prepares.set(item.publish.prepareKey, item.publish.prepare);
    }
    try {
      if (prepares) await Promise.all([...prepares.values()].map((prepare) => prepare()));
      else await (live[0] as Pending).publish.prepare();
    } catch (cause) {
      if (this.closed) return;
      if (isOmnibusError(cause, 'CONFIG_INVALID') || isOmnibusError(cause, 'CLOSED')) {
        for (const item of live) this.fail(item, new PublishError(`rabbitmq: cannot publish to topic "${item.publish.topic}": ${(cause as Error).message}`, { cause, topic: item.publish.topic }));
        return;
      }
      // Connection trouble: try again shortly; the publish deadline bounds the wait.
      this.logger.debug({ err: this.scrub.error(cause) }, 'rabbitmq: declaring before publish failed, retrying');
      setTimeout(() => void this.submit(live, failures + 1), backoffDelay(this.declareBackoff, failures + 1)).unref();
      return;
    }
    for (const item of live) if (!item.once.done) this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    const handle = this.handle;
    while (handle?.open && !this.awaitingDrain && this.queue.length > 0 && this.windowOpen()) {
      const item = this.queue.shift() as Pending;
      if (item.once.done) continue;
      const { publish } = item;
      if (this.brokerMaxBodyBytes !== undefined && publish.content.byteLength > this.brokerMaxBodyBytes) {
        this.fail(item, tooLargeForBroker(publish, this.brokerMaxBodyBytes, this.options.maxMessageBytes));
        continue;
      }
      let options = publish.options;
      let token: string | undefined;
      if (publish.mandatory) {
        token = `${++this.nextToken}`;
        options = { ...options, mandatory: true, headers: { ...(options.headers as Record<string, unknown> | undefined), [TransportHeaders.token]: token } };
        this.tokens.set(token, item);
      }
      item.sentOn = handle;
      item.returned = false;
      let writable: boolean;
      try {
        writable = handle.channel.publish(publish.exchange, publish.routingKey, publish.content, options, (error: unknown) => this.confirmed(item, handle, token, error));
      } catch (cause) {
        if (token) this.tokens.delete(token);
        item.sentOn = undefined;
        if (!handle.open || (cause as Error | undefined)?.name === 'IllegalOperationError') {
          // The channel closed under us: send it on the next one.
          this.queue.unshift(item);
          return;
        }
        // Refused by the client before anything was written (e.g. a headers table over 64 KiB).
        this.fail(item, new PublishError(`rabbitmq: cannot publish to topic "${publish.topic}": ${this.scrub.error(cause).message}`, { topic: publish.topic }));
        continue;
      }
      this.track(item);
      if (!writable) {
        this.awaitingDrain = true;
        this.logger.debug({ inflight: this.inflight.size, queued: this.queue.length }, 'rabbitmq: write buffer full, publishing paused until drain');
        handle.channel.once('drain', () => {
          if (this.handle !== handle) return;
          this.awaitingDrain = false;
          this.logger.debug('rabbitmq: write buffer drained, publishing resumed');
          this.pump();
        });
        return;
      }
    }
  }

  /** Room for one more unconfirmed message: under both windows, or nothing in flight at all. */
  private windowOpen(): boolean {
    if (this.inflight.size === 0) return true;
    return this.inflight.size < this.options.publishWindow && this.inflightBytes < this.options.publishWindowBytes;
  }

  private track(item: Pending): void {
    this.inflight.add(item);
    this.inflightBytes += item.publish.content.byteLength;
  }

  private untrack(item: Pending): void {
    if (this.inflight.delete(item)) this.inflightBytes -= item.publish.content.byteLength;
  }

  private confirmed(item: Pending, handle: ChannelHandle<ConfirmChannel>, token: string | undefined, error: unknown): void {
    if (token) this.tokens.delete(token);
    if (item.sentOn !== handle) return;
    item.sentOn = undefined;
    this.untrack(item);
    if (!item.once.done) {
      if (!error) {
        this.channelFailures = 0;
        if (item.returned) this.onReturned(item);
        else this.succeed(item);
      } else if ((error as Error).message === 'message nacked') {
        // Final, never re-sent: a full queue stays full until consumers catch up, and the caller
        // is the one to decide (answer "sold out", try later).
        const bound = item.publish.rejectBound;
        if (bound) this.fail(item, new QueueFullError(item.publish.topic, `${describeBound(bound)}: a group's queue refused it with basic.nack; with several groups, the others may have stored it`));
        else this.fail(item, new PublishError(`rabbitmq: the broker refused a message for topic "${item.publish.topic}" (basic.nack)`, { topic: item.publish.topic }));
      } else {
        // Channel closed before the confirm. If the broker closed it to refuse THIS message, the
        // refusal is final: fail it now. Otherwise the broker may or may not have it: send it again.
        const closeReason = handle.error;
        this.brokerMaxBodyBytes = statedMaxBodyBytes(closeReason) ?? this.brokerMaxBodyBytes;
        const refusal = refusalOf(closeReason, item.publish.exchange, item.publish.content.byteLength);
        if (refusal) {
          const limit = refusal.maxBodyBytes === undefined ? '' : ` (the broker's max_message_size is ${refusal.maxBodyBytes} bytes; options.maxMessageBytes, ${this.options.maxMessageBytes}, must not be larger)`;
          this.fail(item, new PublishError(`rabbitmq: the broker refused a message for topic "${item.publish.topic}": ${refusal.reason}${limit}`, { topic: item.publish.topic, cause: closeReason }));
        } else if (++item.channelLosses > MAX_CHANNEL_LOSSES) {
          this.fail(item, new PublishError(`rabbitmq: channel lost ${item.channelLosses} times while publishing to topic "${item.publish.topic}"`, { topic: item.publish.topic }));
        } else {
          this.retry(item);
        }
      }
    }
    this.pump();
  }

  private onReturned(item: Pending): void {
    item.returns += 1;
    if (item.returns >= MAX_RETURNS) {
      this.fail(item, new PublishError(`rabbitmq: a message for topic "${item.publish.topic}" was unroutable (its queue is gone)`, { topic: item.publish.topic }));
      return;
    }
    this.retry(item);
  }

  /** Queue an item for another send after its topology was declared again (batched per tick). */
  private retry(item: Pending): void {
    item.publish.forget();
    this.retrying.push(item);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const items = this.retrying;
      this.retrying = [];
      void this.submit(items, 0);
    }, 0);
  }

  private onReturn(message: Message): void {
    const token = (message.properties.headers as Record<string, unknown> | undefined)?.[TransportHeaders.token];
    const item = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (item) item.returned = true;
    this.logger.debug({ exchange: message.fields.exchange, routingKey: message.fields.routingKey }, 'rabbitmq: message returned as unroutable');
  }

  private succeed(item: Pending): void {
    if (!item.once.claim()) return;
    this.unsettled.delete(item);
    item.resolve();
    this.notifyIdle();
  }

  private fail(item: Pending, error: Error): void {
    if (!item.once.claim()) return;
    this.unsettled.delete(item);
    this.untrack(item);
    item.reject(error);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.unsettled.size === 0 && this.closed) this.idle.abort();
  }

  /** Open the confirm channel on a (new) connection; re-open it if the broker closes it. */
  private openOn(model: ChannelModel): void {
    if (this.closed) return;
    openChannel(model, true, this.scrub, this.logger, 'publish').then(
      (handle) => {
        if (this.closed || this.connection.current !== model) {
          void closeChannel(handle);
          return;
        }
        this.handle = handle;
        this.awaitingDrain = false;
        handle.channel.on('return', (message: Message) => this.onReturn(message));
        void handle.closed.then((error) => this.onClosed(handle, model, error));
        this.pump();
      },
      (cause: unknown) => {
        if (this.closed) return;
        this.logger.warn({ err: this.scrub.error(cause) }, 'rabbitmq: cannot open the publish channel');
        this.reopenLater(model);
      },
    );
  }

  private onClosed(handle: ChannelHandle<ConfirmChannel>, model: ChannelModel, error: Error | undefined): void {
    if (this.handle === handle) this.handle = undefined;
    if (this.closed) return;
    if (error) this.logger.warn({ err: error }, 'rabbitmq: publish channel closed by the broker, reopening');
    // Connection lost: the next 'connected' opens a channel. Otherwise only the channel died.
    this.reopenLater(model);
  }

  private reopenLater(model: ChannelModel): void {
    if (this.connection.current !== model) return;
    this.channelFailures += 1;
    setTimeout(() => {
      if (!this.closed && !this.handle && this.connection.current === model) this.openOn(model);
    }, backoffDelay(this.reopenBackoff, this.channelFailures)).unref();
  }
}

/** A body over the max_message_size the broker stated: refused without sending it (it would close the channel). */
function tooLargeForBroker(publish: AmqpPublish, maxBodyBytes: number, declared: number): PublishError {
  return new PublishError(
    `rabbitmq: a message for topic "${publish.topic}" has a body of ${publish.content.byteLength} bytes, over the broker's max_message_size of ${maxBodyBytes} bytes (options.maxMessageBytes, ${declared}, must not be larger)`,
    { topic: publish.topic },
  );
}
