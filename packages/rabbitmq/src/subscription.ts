import type { ConsumeMessage } from 'amqplib';
import { backoffDelay, ConnectionError, exponentialBackoff, withTimeout, type Backoff, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import { AckBatcher } from './acks.js';
import type { TopicBounds } from './bound.js';
import { closeChannel, openChannel, type ChannelHandle } from './channels.js';
import { decodeMessage, type DeliveryOrigin } from './codec.js';
import type { ConnectionManager } from './connection.js';
import { deliveryMetadata, RabbitDelivery, type DeliveryOwner } from './delivery.js';
import { toError, type Scrubber } from './errors.js';
import { Fifo } from './fifo.js';
import type { RabbitMQOptions } from './options.js';
import type { Names } from './names.js';
import type { Planner } from './planner.js';
import type { Publisher } from './publisher.js';
import type { Topology } from './topology.js';

export interface SubscriptionDeps {
  readonly connection: ConnectionManager;
  readonly topology: Topology;
  readonly publisher: Publisher;
  readonly planner: Planner;
  readonly names: Names;
  readonly options: RabbitMQOptions;
  readonly scrub: Scrubber;
  readonly logger: Logger;
  readonly bounds: TopicBounds;
}

/**
 * The consumers on one channel; `tags` fill as basic.consume-ok arrives. One for the group
 * queue, and for a reject-bounded topic one more for the group's re-entry queue (bound.ts):
 * both share the channel, its acks and the subscription's concurrency.
 */
interface Attached {
  readonly handle: ChannelHandle;
  readonly acks: AckBatcher;
  readonly tags: string[];
}

interface Buffered {
  readonly attached: Attached;
  readonly raw: ConsumeMessage;
  readonly origin: DeliveryOrigin;
}

type State = 'active' | 'stopped' | 'closed';

/**
 * One consumer of a group queue, on a channel of its own (a refused operation or a deleted
 * queue affects this subscription only). The broker prefetch bounds unsettled deliveries:
 * it equals the concurrency, or with a larger `prefetch` option the extra deliveries wait in
 * a client buffer and are handed over as earlier ones settle.
 *
 * Lost channel or connection, or a consumer cancelled by the broker: the error is reported
 * through onError and the consumer is re-created with backoff (re-declaring the queue), while
 * the deliveries of the dead channel turn into no-ops (the broker redelivers them).
 */
export class RabbitSubscription implements TransportSubscription, DeliveryOwner {
  private state: State = 'active';
  private current: Attached | undefined;
  private attaching: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private handedOver = 0;
  private readonly buffer = new Fifo<Buffered>();
  private readonly settling = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly unlisten: () => void;
  /** The group queue this subscription consumes (deleteGroup refuses it while open). */
  readonly queue: string;
  private readonly origin: DeliveryOrigin;
  private readonly prefetch: number;
  private readonly restartBackoff: Backoff;

  constructor(
    private readonly params: SubscribeParams,
    private readonly deps: SubscriptionDeps,
    private readonly onClosed: (subscription: RabbitSubscription) => void,
  ) {
    this.queue = deps.names.groupQueue(params.topic, params.group);
    this.origin = {
      queue: this.queue,
      routerExchange: deps.names.routerExchange(),
      retryRoutingKey: deps.names.routeToQueue(this.queue),
      brokerCountsDeliveries: deps.options.queueType === 'quorum',
    };
    this.prefetch = Math.max(params.concurrency, deps.options.prefetch ?? params.concurrency);
    this.restartBackoff = exponentialBackoff(deps.options.reconnect.initialDelayMs, deps.options.reconnect.maxDelayMs);
    this.unlisten = deps.connection.listen({
      connected: () => this.scheduleRestart(),
      disconnected: (error) => {
        if (this.state !== 'active') return;
        this.report(new ConnectionError(`rabbitmq: connection lost while consuming "${this.queue}"; resubscribing after reconnect: ${error.message}`, { cause: error }));
      },
    });
  }

  get topic(): string {
    return this.params.topic;
  }

  get group(): string {
    return this.params.group;
  }

  /** First attach: a failure here rejects subscribe(). */
  async start(): Promise<void> {
    await this.ensureAttached();
  }

  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  released(): void {
    this.handedOver -= 1;
    this.drainBuffer();
  }

  /** nack: store the copy (confirmed), then ack the original on its own channel; else requeue the original. */
  async redeliver(delivery: RabbitDelivery, options: NackOptions): Promise<void> {
    const work = this.storeCopy(delivery, options);
    this.settling.add(work);
    try {
      await work;
    } finally {
      this.settling.delete(work);
    }
  }

  private async storeCopy(delivery: RabbitDelivery, options: NackOptions): Promise<void> {
    const { message } = delivery;
    const copy = options.headers ? { ...message, headers: { ...message.headers, ...options.headers } } : message;
    try {
      const plan = this.deps.planner.forRedelivery(copy, delivery.attempt + 1, options.delayMs ?? 0, this.params.group);
      // If the delivering channel dies before the copy is sent, drop the copy: the broker redelivers the original.
      await this.deps.publisher.publish([plan], delivery.handle.signal);
    } catch (cause) {
      if (delivery.handle.open) {
        this.deps.logger.warn({ err: this.deps.scrub.error(cause), id: message.id, queue: this.queue }, 'rabbitmq: could not store the redelivery copy; requeueing the original');
        delivery.requeue();
      }
      return;
    }
    delivery.acknowledge();
  }

  private async runStop(): Promise<void> {
    if (this.state === 'active') this.state = 'stopped';
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.attaching?.catch(() => {});
    const attached = this.current;
    if (attached?.handle.open) {
      for (const tag of attached.tags) {
        try {
          await attached.handle.channel.cancel(tag);
        } catch {
          // Channel gone: nothing is delivered on it any more anyway.
        }
      }
    }
    this.releaseBuffer();
  }

  private async runClose(): Promise<void> {
    await this.stop();
    this.state = 'closed';
    // Let nacks in progress finish (copy stored, original acked), so close() does not duplicate them.
    if (this.settling.size > 0) {
      const { closeTimeoutMs } = this.deps.options;
      await withTimeout(Promise.allSettled([...this.settling]), closeTimeoutMs, () => new Error(`nacks still storing copies after ${closeTimeoutMs} ms`)).catch(() => {});
    }
    const attached = this.current;
    this.current = undefined;
    // Acks not sent yet go out first; closing the channel hands every unsettled delivery back to the broker.
    attached?.acks.flush();
    await closeChannel(attached?.handle);
    this.unlisten();
    this.onClosed(this);
  }

  private ensureAttached(): Promise<void> {
    if (this.state !== 'active' || this.current?.handle.open) return Promise.resolve();
    this.attaching ??= this.attach().finally(() => {
      this.attaching = undefined;
    });
    return this.attaching;
  }

  private async attach(): Promise<void> {
    const { connection, topology, options, scrub, logger } = this.deps;
    const model = await connection.waitForModel(options.connectTimeoutMs);
    const queue = await topology.group(this.params.topic, this.params.group);
    if (this.state !== 'active') return;
    let handle: ChannelHandle;
    try {
      handle = await openChannel(model, false, scrub, logger, `consume ${queue}`);
    } catch (cause) {
      const safe = scrub.error(cause);
      throw new ConnectionError(`rabbitmq: cannot open a channel to consume "${queue}": ${safe.message}`, { cause: safe });
    }
    const attached: Attached = { handle, acks: new AckBatcher(handle), tags: [] };
    const reentry = this.reentryOrigin();
    try {
      // Per consumer: with a re-entry queue the broker may hand over twice the prefetch, the
      // extra waiting in the client buffer (never more than `concurrency` handlers at once).
      await handle.channel.prefetch(this.prefetch, false);
      this.current = attached;
      void handle.closed.then((error) => this.onChannelClosed(attached, error));
      for (const origin of reentry ? [this.origin, reentry] : [this.origin]) {
        const { consumerTag } = await handle.channel.consume(origin.queue, (raw) => this.onMessage(attached, raw, origin), { noAck: false });
        attached.tags.push(consumerTag);
      }
    } catch (cause) {
      if (this.current === attached) this.current = undefined;
      await closeChannel(handle);
      const safe = scrub.error(cause);
      throw new ConnectionError(`rabbitmq: cannot consume queue "${queue}": ${safe.message}`, { cause: safe });
    }
    this.failures = 0;
    logger.debug({ queue, prefetch: this.prefetch }, 'rabbitmq: consumer attached');
    // stop() may have come while we were subscribing: it waited for us, cancel now.
    if (this.state !== 'active') {
      for (const tag of attached.tags) await handle.channel.cancel(tag).catch(() => {});
    }
  }

  /** For a reject-bounded topic, where the group's retries and delayed publishes arrive (see bound.ts). */
  private reentryOrigin(): DeliveryOrigin | undefined {
    if (this.deps.bounds.rejects(this.params.topic) === undefined) return undefined;
    return { ...this.origin, queue: this.deps.names.reentryQueue(this.params.topic, this.params.group) };
  }

  private onMessage(attached: Attached, raw: ConsumeMessage | null, origin: DeliveryOrigin): void {
    if (raw === null) {
      // basic.cancel from the broker: the queue was deleted (or a quorum queue lost its leader).
      this.report(new ConnectionError(`rabbitmq: the broker cancelled the consumer of "${origin.queue}" (queue deleted?); re-declaring and resubscribing`));
      this.deps.topology.forgetGroup(this.queue);
      attached.acks.flush();
      void closeChannel(attached.handle);
      return;
    }
    attached.acks.received(raw);
    if (this.handedOver >= this.params.concurrency) {
      this.buffer.push({ attached, raw, origin });
      return;
    }
    this.handOver(attached, raw, origin);
  }

  private handOver(attached: Attached, raw: ConsumeMessage, origin: DeliveryOrigin): void {
    const { message, attempt } = decodeMessage(this.params.topic, raw, origin);
    this.handedOver += 1;
    const delivery = new RabbitDelivery(message, attempt, attached.handle, attached.acks, raw, this, deliveryMetadata(raw, origin.queue));
    try {
      this.params.onDelivery(delivery);
    } catch (error) {
      this.report(toError(error));
    }
  }

  private drainBuffer(): void {
    while (this.state === 'active' && this.handedOver < this.params.concurrency && this.buffer.length > 0) {
      const next = this.buffer.shift() as Buffered;
      // From a dead channel: the broker redelivers it.
      if (next.attached.handle.open) this.handOver(next.attached, next.raw, next.origin);
    }
  }

  /** Buffered deliveries were never handed over: give them back to the broker. */
  private releaseBuffer(): void {
    for (const { attached, raw } of this.buffer.drain()) {
      if (!attached.handle.open) continue;
      attached.acks.settledOtherwise(raw);
      try {
        attached.handle.channel.nack(raw, false, true);
      } catch {
        // Channel closed meanwhile: released anyway.
      }
    }
  }

  private onChannelClosed(attached: Attached, error: Error | undefined): void {
    if (this.current === attached) this.current = undefined;
    if (this.state !== 'active') return;
    const connectionAlive = this.deps.connection.current === attached.handle.model;
    // A lost connection was reported once by `disconnected`; its 'connected' restarts us.
    if (!connectionAlive) return;
    if (error) this.report(new ConnectionError(`rabbitmq: the channel consuming "${this.queue}" was closed: ${error.message}; resubscribing`, { cause: error }));
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.state !== 'active' || this.restartTimer || this.current?.handle.open) return;
    const delay = this.failures === 0 ? 0 : backoffDelay(this.restartBackoff, this.failures);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.ensureAttached().catch((error: unknown) => {
        this.failures += 1;
        this.report(toError(error));
        this.scheduleRestart();
      });
    }, delay);
  }

  private report(error: Error): void {
    try {
      this.params.onError(error);
    } catch (thrown) {
      this.deps.logger.error({ err: this.deps.scrub.error(thrown) }, 'rabbitmq: onError threw');
    }
  }
}
