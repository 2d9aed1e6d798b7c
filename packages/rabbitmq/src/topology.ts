import type { Channel, ChannelModel } from 'amqplib';
import { ConfigError, ConnectionError, type Logger } from '@omnibus/core';
import { BOUND_ARGUMENT, boundArguments, type TopicBounds } from './bound.js';
import { closeChannel, openChannel, type ChannelHandle } from './channels.js';
import { TransportHeaders } from './codec.js';
import type { ConnectionManager } from './connection.js';
import { DELAY_QUEUE_IDLE_MS, DELAY_QUEUE_RENEW_MS } from './delay.js';
import { replyCode, type Scrubber } from './errors.js';
import type { Names } from './names.js';
import type { RabbitMQOptions } from './options.js';

/**
 * Declares exchanges, queues and bindings idempotently, each once per connection (the cache
 * is dropped on every reconnect, so a broker that lost them gets them back). Declarations run
 * on a channel of their own: a refused declaration closes only that channel.
 *
 *   topic exchange  <prefix><topic>            durable, type topic
 *   group queue     <prefix><topic>.<group>     durable (classic or quorum), bound with '#'; a bounded
 *                                               topic's with x-max-length(-bytes) and x-overflow
 *   re-entry queue  <prefix>omnibus:reentry:<topic>.<group>  reject-bounded topics only: unbounded,
 *                                               takes the group's retries and the topic's delayed
 *                                               publishes (router q:<queue> and t:<exchange>)
 *   delay exchange  <prefix>omnibus:delay       durable, type headers
 *   delay queues    <prefix>omnibus:delay:q:<ms> durable quorum (delayQueueType), x-message-ttl = ms,
 *                                               dead-lettered at-least-once to the router; classic
 *                                               buckets are <prefix>omnibus:delay:<ms> (at-most-once)
 *   router          <prefix>omnibus:router      durable, type direct: q:<queue> → that queue only,
 *                                               t:<exchange> → that topic exchange (every group)
 *                                               and, with quorum buckets, the discard queue
 *   discard queue   <prefix>omnibus:discard     durable classic, x-max-length 0 (drops everything)
 */
export class Topology {
  private model: ChannelModel | undefined;
  private channel: Promise<ChannelHandle> | undefined;
  private readonly declared = new Map<string, Promise<void>>();
  private readonly renewedAt = new Map<number, number>();

  constructor(
    private readonly names: Names,
    private readonly options: RabbitMQOptions,
    private readonly connection: ConnectionManager,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
    private readonly bounds: TopicBounds,
  ) {}

  /** The topic's exchange. */
  topic(topic: string): Promise<void> {
    const exchange = this.names.topicExchange(topic);
    return this.once(`exchange ${exchange}`, (ch) => ch.assertExchange(exchange, 'topic', { durable: true }));
  }

  /**
   * The group's durable queue, bound to its topic and reachable from the router. Returns the queue
   * name. A bounded topic's queue carries its bound; with a `reject` bound, what re-enters the
   * group from the router (its retries, the topic's delayed publishes) goes to the group's
   * unbounded re-entry queue instead, since the full queue would refuse it and dead-lettering
   * would drop it (see bound.ts).
   */
  async group(topic: string, group: string): Promise<string> {
    const queue = this.names.groupQueue(topic, group);
    const exchange = this.names.topicExchange(topic);
    const bound = this.bounds.get(topic);
    const reentry = bound?.overflow === 'reject' ? this.names.reentryQueue(topic, group) : undefined;
    await Promise.all([this.topic(topic), this.router()]);
    await this.once(`queue ${queue}`, async (ch) => {
      const type = this.options.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : undefined;
      const args = bound ? { ...type, ...boundArguments(bound) } : type;
      await ch.assertQueue(queue, { durable: true, arguments: args });
      await ch.bindQueue(queue, exchange, '#');
      const router = this.names.routerExchange();
      if (reentry === undefined) {
        await ch.bindQueue(queue, router, this.names.routeToQueue(queue));
        return;
      }
      await ch.assertQueue(reentry, { durable: true, arguments: type });
      await ch.bindQueue(reentry, router, this.names.routeToQueue(queue));
      await ch.bindQueue(reentry, router, this.names.routeToTopic(topic));
    });
    return queue;
  }

  /** What a delayed publish to `topic` needs: the router must reach the topic exchange. */
  async delayedTopic(topic: string): Promise<void> {
    const exchange = this.names.topicExchange(topic);
    const router = this.names.routerExchange();
    const key = this.names.routeToTopic(topic);
    const discard = this.options.delayQueueType === 'quorum' ? this.names.discardQueue() : undefined;
    await Promise.all([this.topic(topic), this.router(), discard === undefined ? undefined : this.discard(discard)]);
    // A reject-bounded topic's delayed publishes reach its groups' re-entry queues (bound in
    // group()), never the topic exchange: its bounded queues would drop them when full.
    const viaExchange = this.bounds.rejects(topic) === undefined;
    await this.once(`route ${exchange}`, async (ch) => {
      if (viaExchange) await ch.bindExchange(exchange, router, key);
      if (discard === undefined) return;
      // A topic without groups keeps nothing: its expired delayed messages must still be routed
      // somewhere, or the quorum bucket keeps them (at-least-once) and retries them forever.
      await ch.bindQueue(discard, router, key).catch((cause: unknown) => {
        this.forget([`queue ${discard}`]); // deleted behind our back: declare it again next time
        throw cause;
      });
    });
  }

  /**
   * The delay queue of a bucket. Re-declared at least every DELAY_QUEUE_RENEW_MS while in use:
   * a declare renews its x-expires lease, so a queue never expires while it holds messages.
   */
  async delayBucket(bucketMs: number): Promise<void> {
    await Promise.all([this.delayExchange(), this.router()]);
    const key = `delay ${bucketMs}`;
    const renewed = this.renewedAt.get(bucketMs);
    if (renewed !== undefined && Date.now() - renewed > DELAY_QUEUE_RENEW_MS) this.forget([key]);
    const queue = this.names.delayQueue(bucketMs);
    await this.once(key, async (ch) => {
      const declaredAt = Date.now();
      const args: Record<string, unknown> = {
        'x-message-ttl': bucketMs,
        'x-dead-letter-exchange': this.names.routerExchange(),
        'x-expires': bucketMs + DELAY_QUEUE_IDLE_MS,
      };
      if (this.options.delayQueueType === 'quorum') {
        // At-least-once dead-lettering (RabbitMQ 3.10+): an expired message leaves the bucket only
        // once the router's target queues confirmed it, so a broker crash cannot lose it. The
        // strategy requires reject-publish overflow (no length limit is set, so nothing is rejected).
        Object.assign(args, { 'x-queue-type': 'quorum', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' });
      }
      await ch.assertQueue(queue, { durable: true, arguments: args });
      await ch.bindQueue(queue, this.names.delayExchange(), '', { 'x-match': 'all', [TransportHeaders.delayBucket]: this.names.delayBucketValue(bucketMs) });
      this.renewedAt.set(bucketMs, declaredAt);
    });
  }

  /**
   * After a group queue is deleted: its delayed retries still wait in the shared buckets, and a
   * quorum bucket keeps (and retries, holding up the bucket's other messages) whatever reaches no
   * queue. Binding the discard queue on the router key `q:<queue>` makes them reach a queue that
   * drops them. With classic buckets nothing is needed: an unroutable expired message is dropped.
   */
  async discardRetriesOf(queue: string): Promise<void> {
    if (this.options.delayQueueType !== 'quorum') return;
    const discard = this.names.discardQueue();
    await Promise.all([this.router(), this.discard(discard)]);
    await this.once(`discard ${queue}`, (ch) => ch.bindQueue(discard, this.names.routerExchange(), this.names.routeToQueue(queue)));
  }

  /** Forget declarations (a returned message says a queue or binding is gone). */
  forget(keys: readonly string[]): void {
    for (const key of keys) this.declared.delete(key);
  }

  forgetDelayBucket(bucketMs: number): void {
    this.forget([`delay ${bucketMs}`]);
  }

  forgetGroup(queue: string): void {
    this.forget([`queue ${queue}`]);
  }

  forgetTopic(topic: string): void {
    const exchange = this.names.topicExchange(topic);
    this.forget([`exchange ${exchange}`, `route ${exchange}`]);
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    this.declared.clear();
    await closeChannel(await channel?.catch(() => undefined));
  }

  private delayExchange(): Promise<void> {
    const exchange = this.names.delayExchange();
    return this.once(`exchange ${exchange}`, (ch) => ch.assertExchange(exchange, 'headers', { durable: true }));
  }

  /** The discard queue (see Names.discardQueue): holds nothing, so it never expires. */
  private discard(queue: string): Promise<void> {
    return this.once(`queue ${queue}`, (ch) => ch.assertQueue(queue, { durable: true, arguments: { 'x-max-length': 0 } }));
  }

  private router(): Promise<void> {
    const exchange = this.names.routerExchange();
    return this.once(`exchange ${exchange}`, (ch) => ch.assertExchange(exchange, 'direct', { durable: true }));
  }

  /** Run a declaration once per connection; a failed one is forgotten so the next call retries it. */
  private async once(key: string, declare: (channel: Channel) => Promise<unknown>): Promise<void> {
    const model = await this.connection.waitForModel(this.options.connectTimeoutMs);
    if (model !== this.model) {
      // A new connection: everything must be declared again, on a new channel.
      this.model = model;
      this.channel = undefined;
      this.declared.clear();
      this.renewedAt.clear();
    }
    let pending = this.declared.get(key);
    if (!pending) {
      pending = this.run(model, key, declare);
      this.declared.set(key, pending);
      pending.catch(() => {
        if (this.declared.get(key) === pending) this.declared.delete(key);
      });
    }
    return pending;
  }

  private async run(model: ChannelModel, key: string, declare: (channel: Channel) => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const handle = await this.topologyChannel(model);
      try {
        await declare(handle.channel);
        return;
      } catch (cause) {
        const code = replyCode(cause);
        // No reply code: the channel went away under us (another declaration on it was refused,
        // or the connection dropped). Try again on a fresh channel while the connection lives.
        if (code === undefined && attempt < 3 && this.connection.current === model) continue;
        throw this.describe(key, cause);
      }
    }
  }

  private topologyChannel(model: ChannelModel): Promise<ChannelHandle> {
    const existing = this.channel;
    if (existing) {
      return existing.then((handle) => {
        if (handle.open) return handle;
        if (this.channel === existing) this.channel = undefined;
        return this.topologyChannel(model);
      });
    }
    const opening = openChannel(model, false, this.scrub, this.logger, 'topology');
    this.channel = opening;
    opening.then(
      (handle) =>
        void handle.closed.then(() => {
          if (this.channel === opening) this.channel = undefined;
        }),
      () => {
        if (this.channel === opening) this.channel = undefined;
      },
    );
    return opening;
  }

  private describe(key: string, cause: unknown): Error {
    const safe = this.scrub.error(cause);
    if (replyCode(cause) === 406 && /x-queue-type/.test(safe.message)) {
      const field = key.startsWith('delay ') ? 'options.delayQueueType' : 'options.queueType';
      return new ConfigError(field, `rabbitmq: ${key} already exists with another queue type: ${safe.message}`, { cause: safe });
    }
    if (replyCode(cause) === 406 && BOUND_ARGUMENT.test(safe.message)) {
      // A queue's length limit and overflow cannot change once it exists: only the channel of this
      // declaration is closed (it is the topology channel's own), other work goes on.
      return new ConfigError(
        'bound',
        `rabbitmq: ${key} already exists with another bound (x-max-length, x-max-length-bytes and x-overflow cannot change on an existing queue): ${safe.message}. Define the topic with the bound its queues have, or delete the group (bus.deleteGroup, losing its messages) so it is declared again with the new bound`,
        { cause: safe },
      );
    }
    if (replyCode(cause) === 403) {
      // The user may not configure this object on the vhost, or the name is reserved (amq.*).
      const field = /reserved prefix/.test(safe.message) ? 'options.prefix' : 'url';
      return new ConfigError(field, `rabbitmq: access refused declaring ${key}: ${safe.message}`, { cause: safe });
    }
    if (replyCode(cause) === 406) {
      return new ConfigError('topology', `rabbitmq: ${key} already exists with other settings: ${safe.message}`, { cause: safe });
    }
    return new ConnectionError(`rabbitmq: declaring ${key} failed: ${safe.message}`, { cause: safe });
  }
}
