import { ConnectionError, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import { AckBatch } from './ack-batch.js';
import { encodeScheduled, entryFields, parseEntry } from './codec.js';
import { isRedisError, reconnectBackoff, reconnectDelay, type ConnectionSettings } from './connection.js';
import { openConsumerConnection } from './consumer-connection.js';
import { RedisDelivery, type DeliveryOwner, type HeldEntry } from './delivery.js';
import { GroupReader } from './group-reader.js';
import { ensureGroups, groupPosition } from './groups.js';
import type { ConnectionHealth } from './health.js';
import { Heartbeat } from './heartbeat.js';
import type { Keys } from './keys.js';
import type { RedisOptions } from './options.js';
import { safeError } from './safe-error.js';
import type { Scheduler } from './scheduler.js';
import type { ScriptedRedis } from './scripts.js';

/** What a subscription shares with its transport. */
export interface SubscriptionContext {
  /** The transport's command connection (acks, requeues, heartbeats, group creation). */
  readonly client: ScriptedRedis;
  readonly settings: ConnectionSettings;
  readonly options: RedisOptions;
  readonly keys: Keys;
  readonly logger: Logger;
  readonly scheduler: Scheduler;
  /** Where the consumer connection's state is reported (transport.health()). */
  readonly health: ConnectionHealth;
  /** False once the transport closed its connection: settling is then a no-op. */
  readonly isOpen: () => boolean;
}

/**
 * Where a subscription is in its life. Each transition is one method:
 * - `starting` → `running`: start() opened the consumer connection and started the read loop;
 * - `running` ⇄ `reading`: the loop's XREADGROUP is in flight (stop() cuts its connection then);
 * - `starting` | `running` | `reading` → `stopping` → `stopped`: stop() (the loop ends, entries
 *   never handed over go back);
 * - → `closing` → `closed`: close() (after stop: unsettled deliveries go back, acks still batched
 *   go out, the consumer leaves its group).
 */
type State = 'starting' | 'running' | 'reading' | 'stopping' | 'stopped' | 'closing' | 'closed';

/**
 * One consumer of a group: a read loop on its own blocking connection.
 *
 * Each turn it hands over buffered entries while fewer than `concurrency` are
 * unsettled, claims entries of dead consumers now and then (XAUTOCLAIM), then blocks
 * in XREADGROUP on the topic stream and the group's redelivery stream together. One
 * XREADGROUP can return up to COUNT entries per stream, so the surplus waits in a local
 * buffer (owned, heartbeated, never handed over beyond the bound).
 *
 * Its jobs elsewhere: the blocking connection's commands (group-reader.ts), acks batched per turn
 * of the event loop (ack-batch.ts), the heartbeat of held entries (heartbeat.ts).
 */
export class RedisSubscription implements TransportSubscription, DeliveryOwner {
  private state: State = 'starting';
  private readonly topicKey: string;
  private readonly retryKey: string;
  private readonly unsettled = new Set<RedisDelivery>();
  private readonly buffer: HeldEntry[] = [];
  /** Every entry this consumer owns and knows of (buffered or unsettled), by `stream id`. */
  private readonly held = new Map<string, HeldEntry>();
  private readonly acks: AckBatch;
  private readonly heartbeat: Heartbeat;
  private blocking: ScriptedRedis | undefined;
  private reader: GroupReader | undefined;
  /** Stops reporting the consumer connection's state (before it is disconnected on purpose). */
  private unwatch: () => void = () => {};
  private loopDone: Promise<void> = Promise.resolve();
  private wakeLoop: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly params: SubscribeParams,
    /** This subscription's consumer name in the group (stable across reconnects). */
    readonly consumer: string,
    private readonly onClosed: (subscription: RedisSubscription) => void,
  ) {
    this.topicKey = ctx.keys.topic(params.topic);
    this.retryKey = ctx.keys.retry(params.topic, params.group);
    this.acks = new AckBatch({ client: ctx.client, group: params.group, isOpen: ctx.isOpen, onTurnEnd: () => this.wake(), report: (error, what) => this.report(error, what) });
    this.heartbeat = new Heartbeat({
      held: () => this.held,
      isOpen: ctx.isOpen,
      touch: (stream, ids) => ctx.client.omnibusHeartbeat(stream, params.group, consumer, ...ids),
      onError: (error) => ctx.logger.debug({ err: safeError(error, ctx.settings.secrets), consumer }, 'omnibus redis: heartbeat failed'),
    });
  }

  /** Whether this subscription consumes `group` of `topic` (until it has closed). */
  reads(topic: string, group: string): boolean {
    return this.params.topic === topic && this.params.group === group;
  }

  /** `running` or `reading`: the read loop goes on and hands entries over. */
  private get active(): boolean {
    return this.state === 'running' || this.state === 'reading';
  }

  /** starting → running. */
  async start(): Promise<void> {
    const { client, options, settings, logger } = this.ctx;
    await ensureGroups(client, this.ctx.keys, this.params.topic, this.params.group);
    const from = (await groupPosition(client, this.topicKey, this.params.group)) ?? '0-0';
    const blocking = await openConsumerConnection({
      settings,
      options,
      logger,
      consumer: this.consumer,
      reporting: () => this.active,
      onLost: (error) => this.report(error, 'reconnecting'),
    });
    this.blocking = blocking;
    // Stopped while the connection opened: nothing to start.
    if (this.state !== 'starting') return blocking.disconnect();
    this.unwatch = this.ctx.health.watch(blocking);
    const claimIntervalMs = options.claimIntervalMs ?? Math.max(10, Math.floor(options.claimIdleMs / 2));
    const { group } = this.params;
    const { topicKey, retryKey, consumer } = this;
    const reader = new GroupReader(blocking, { group, consumer, topicKey, retryKey, claimIdleMs: options.claimIdleMs, claimIntervalMs, consumerExpiryMs: options.consumerExpiryMs }, this.sink, from);
    this.reader = reader;
    this.heartbeat.start(Math.max(20, Math.floor(options.claimIdleMs / 3)));
    this.state = 'running';
    this.loopDone = this.loop(reader);
  }

  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  // --- DeliveryOwner (each delivery's SettleOnce calls one of these at most once) ---

  ack(delivery: RedisDelivery): Promise<void> {
    this.free(delivery);
    return this.acks.add(delivery.entry);
  }

  nack(delivery: RedisDelivery, delayMs: number, headers?: NackOptions['headers']): Promise<void> {
    this.free(delivery);
    return this.requeueEntry(delivery.entry, delivery.attempt + 1, delayMs, headers);
  }

  /** A delivery settled: its capacity is free, and the loop refills it at the end of this turn. */
  private free(delivery: RedisDelivery): void {
    this.unsettled.delete(delivery);
    this.held.delete(heldKey(delivery.entry));
    this.acks.endTurnSoon();
  }

  private async requeueEntry(entry: HeldEntry, attempt: number, delayMs: number, headers?: NackOptions['headers']): Promise<void> {
    if (!this.ctx.isOpen()) return;
    const message = headers ? { ...entry.message, headers: { ...entry.message.headers, ...headers } } : entry.message;
    const scheduled = encodeScheduled(this.retryKey, entryFields(message, attempt));
    try {
      const result = await this.ctx.client.omnibusRequeue(entry.stream, this.ctx.keys.scheduled, this.params.group, this.consumer, entry.id, entry.redelivery ? '1' : '0', delayMs, scheduled);
      if (result === 0) this.ctx.logger.debug({ id: entry.message.id, consumer: this.consumer }, 'omnibus redis: nack ignored, the entry was claimed by another consumer');
      else if (delayMs > 0) this.ctx.scheduler.poke(delayMs);
    } catch (error) {
      this.report(error, 'nack failed (the message will be redelivered after the claim idle time)');
    }
  }

  // --- the read loop -------------------------------------------------------------

  private async loop(reader: GroupReader): Promise<void> {
    const backoff = reconnectBackoff(this.ctx.options, { jitter: false });
    let failures = 0;
    while (this.active) {
      try {
        this.handOver();
        if (this.room() <= 0) {
          await this.idle();
          continue;
        }
        if (reader.claimDue) {
          await reader.claim();
          this.handOver();
          if (!this.active || this.room() <= 0) continue;
        }
        // While a claim scan is unfinished, read without blocking so both make progress.
        await this.read(reader, this.room(), reader.claimDue ? undefined : this.ctx.options.blockMs);
        failures = 0;
      } catch (error) {
        if (!this.active) break;
        if (isRedisError(error, 'NOGROUP')) {
          await this.recreateGroups(reader).catch((cause: unknown) => this.report(cause, 'recreating the consumer group failed'));
        } else {
          failures += 1;
          this.report(error, 'reading from Redis failed, retrying');
        }
        await this.idle(reconnectDelay(backoff, failures + 1));
      }
    }
  }

  /** running → reading → running (unless stop() came meanwhile). */
  private async read(reader: GroupReader, count: number, blockMs: number | undefined): Promise<void> {
    this.state = 'reading';
    try {
      await reader.read(count, blockMs);
    } finally {
      if (this.state === 'reading') this.state = 'running';
    }
  }

  /** Room for entries read or claimed: fewer than `concurrency` buffered and unsettled. */
  private room(): number {
    return this.params.concurrency - this.unsettled.size - this.buffer.length;
  }

  /** Where the reader puts what it reads or claims. */
  private readonly sink = { room: () => this.room(), take: (stream: string, id: string, rawFields: unknown, deliveryCount: number) => this.take(stream, id, rawFields, deliveryCount) };

  /** Own an entry read or claimed: buffer it for hand-over. */
  private take(stream: string, id: string, rawFields: unknown, deliveryCount: number): void {
    const key = `${stream} ${id}`;
    // Already ours and in flight (a late heartbeat let it look idle): never hand it over twice.
    if (this.held.has(key)) return;
    const fields = Array.isArray(rawFields) ? (rawFields as Buffer[]) : [];
    const redelivery = stream === this.retryKey;
    // The attempt count: what Redis counted for this entry (XPENDING delivery count), on top of
    // the attempt Omnibus' requeue script recorded when it wrote a redelivery entry.
    const stored = parseEntry(this.params.topic, id, fields, redelivery ? 'redelivery' : 'topic');
    const entry: HeldEntry = {
      stream,
      id,
      redelivery,
      message: stored.message,
      attempt: stored.baseAttempt + Math.max(1, deliveryCount || 1) - 1,
      metadata: { offset: id, stream: redelivery ? 'redelivery' : 'topic' },
    };
    this.held.set(key, entry);
    this.buffer.push(entry);
  }

  /** Hand buffered entries over while fewer than `concurrency` are unsettled. */
  private handOver(): void {
    while (this.active && this.unsettled.size < this.params.concurrency) {
      const entry = this.buffer.shift();
      if (!entry) return;
      const delivery = new RedisDelivery(entry, this);
      this.unsettled.add(delivery);
      try {
        this.params.onDelivery(delivery);
      } catch (error) {
        this.params.onError(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private async recreateGroups(reader: GroupReader): Promise<void> {
    const { group, topic } = this.params;
    const after = await reader.recreateGroups(this.ctx.client);
    const error = new Error(`consumer group "${group}" of topic "${topic}" was missing in Redis (NOGROUP: the stream or group was deleted, or Redis lost its data) and was recreated after entry ${after}`);
    this.ctx.logger.warn({ topic, group }, `omnibus redis: ${error.message}`);
    this.params.onError(error);
  }

  /** Wait until settled capacity, stop, or `ms` elapsed (no timeout: until woken). */
  private idle(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      const previous = this.wakeLoop;
      this.wakeLoop = done;
      previous?.();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private wake(): void {
    const wake = this.wakeLoop;
    this.wakeLoop = undefined;
    wake?.();
  }

  // --- stop, close ---------------------------------------------------------------

  /** → stopping → stopped. */
  private async runStop(): Promise<void> {
    const wasReading = this.state === 'reading';
    this.state = 'stopping';
    this.wake();
    this.reader?.halt();
    this.unwatch();
    // A blocked XREADGROUP only returns after blockMs: cut its connection instead.
    // (Entries Redis handed out in that instant stay pending and are claimed later.)
    if (wasReading) this.blocking?.disconnect();
    await this.loopDone;
    this.blocking?.disconnect();
    // Never handed over: give them back with the same attempt number.
    const left = this.buffer.splice(0);
    await Promise.all(
      left.map((entry) => {
        this.held.delete(heldKey(entry));
        return this.requeueEntry(entry, entry.attempt, 0);
      }),
    );
    this.state = 'stopped';
  }

  /** → closing → closed (after stop). */
  private async runClose(): Promise<void> {
    await this.stop();
    this.state = 'closing';
    // Unsettled deliveries go back for redelivery (attempt + 1), never acked.
    await Promise.all([...this.unsettled].map((delivery) => delivery.nack()));
    // Acks still batched go out before the consumer leaves its group.
    await this.acks.pending;
    this.heartbeat.stop();
    if (this.ctx.isOpen()) {
      try {
        // Leave the group if nothing is pending for this consumer any more.
        for (const stream of [this.topicKey, this.retryKey]) await this.ctx.client.omnibusReap(stream, this.params.group, this.ctx.options.consumerExpiryMs, this.consumer);
      } catch (error) {
        this.ctx.logger.debug({ err: safeError(error, this.ctx.settings.secrets) }, 'omnibus redis: removing the consumer failed');
      }
    }
    this.state = 'closed';
    this.onClosed(this);
  }

  private report(error: unknown, what: string): void {
    const { topic, group } = this.params;
    const cause = safeError(error, this.ctx.settings.secrets);
    const safe = new ConnectionError(`redis ${topic}/${group}: ${what}: ${cause.message}`, { cause });
    try {
      this.params.onError(safe);
    } catch {
      // onError must not break the loop.
    }
  }
}

function heldKey(entry: HeldEntry): string {
  return `${entry.stream} ${entry.id}`;
}
