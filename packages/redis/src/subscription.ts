import { ConnectionError, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import { connectClient, createClient, isRedisError, reconnectBackoff, reconnectDelay, type ConnectionSettings } from './connection.js';
import { safeError } from './safe-error.js';
import { encodeScheduled, entryFields, parseEntry } from './codec.js';
import { RedisDelivery, type DeliveryOwner, type HeldEntry } from './delivery.js';
import { Halt, HALTED } from './halt.js';
import { compareIds, createGroup, ensureGroups, groupPosition } from './groups.js';
import type { ConnectionHealth } from './health.js';
import type { Keys } from './keys.js';
import type { RedisOptions } from './options.js';
import type { Scheduler } from './scheduler.js';
import { scripted, scripts, type ScriptedRedis } from './scripts.js';

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
 * One consumer of a group: a read loop on its own blocking connection.
 *
 * Each turn it hands over buffered entries while fewer than `concurrency` are
 * unsettled, claims entries of dead consumers now and then (XAUTOCLAIM), then blocks
 * in XREADGROUP on the topic stream and the group's redelivery stream together. One
 * XREADGROUP can return up to COUNT entries per stream, so the surplus waits in a local
 * buffer (owned, heartbeated, never handed over beyond the bound).
 */
export class RedisSubscription implements TransportSubscription, DeliveryOwner {
  private readonly topicKey: string;
  private readonly retryKey: string;
  private readonly unsettled = new Set<RedisDelivery>();
  private readonly buffer: HeldEntry[] = [];
  /** Every entry this consumer owns and knows of (buffered or unsettled), by `stream id`. */
  private readonly held = new Map<string, HeldEntry>();
  private readonly cursors = new Map<string, string>();
  /** Acks settled in this turn of the event loop, and what their ack() calls wait for. */
  private ackQueue: HeldEntry[] = [];
  private ackFlush: Promise<void> | undefined;
  private ackFlushed: () => void = () => {};
  private turnEndScheduled = false;
  private readonly claimIntervalMs: number;
  private blocking: ScriptedRedis | undefined;
  /** Stops reporting the consumer connection's state (before it is disconnected on purpose). */
  private unwatch: () => void = () => {};
  private loopDone: Promise<void> = Promise.resolve();
  private wakeLoop: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private reading = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** Newest topic-stream entry seen: where a lost group is recreated from. */
  private lastSeen = '0-0';
  private nextClaimAt = 0;
  private nextReapAt = 0;
  /** Triggered on stop(): the loop stops waiting for the blocking connection. */
  private readonly halt = new Halt();

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly params: SubscribeParams,
    /** This subscription's consumer name in the group (stable across reconnects). */
    readonly consumer: string,
    private readonly onClosed: (subscription: RedisSubscription) => void,
  ) {
    this.topicKey = ctx.keys.topic(params.topic);
    this.retryKey = ctx.keys.retry(params.topic, params.group);
    this.claimIntervalMs = ctx.options.claimIntervalMs ?? Math.max(10, Math.floor(ctx.options.claimIdleMs / 2));
  }

  /** Whether this subscription consumes `group` of `topic` (until it has closed). */
  reads(topic: string, group: string): boolean {
    return this.params.topic === topic && this.params.group === group;
  }

  async start(): Promise<void> {
    const { client, options, settings } = this.ctx;
    await ensureGroups(client, this.ctx.keys, this.params.topic, this.params.group);
    this.lastSeen = (await groupPosition(client, this.topicKey, this.params.group)) ?? '0-0';

    const blocking = scripted(
      createClient(settings, {
        scripts,
        connectionName: 'omnibus-consumer',
        // The read blocks for blockMs; only a reply missing well beyond that is an error.
        commandTimeout: options.blockMs + options.commandTimeoutMs,
        socketTimeout: options.blockMs + options.commandTimeoutMs,
      }),
    );
    blocking.on('error', (error: unknown) => this.ctx.logger.debug({ err: safeError(error, settings.secrets), consumer: this.consumer }, 'omnibus redis: consumer connection error'));
    // Report an outage once (ioredis retries with backoff and the loop resumes on 'ready').
    let lost = false;
    blocking.on('close', () => {
      if (lost || this.stopped || !this.blocking) return;
      lost = true;
      this.report(new Error(`connection to ${settings.display} lost`), 'reconnecting');
    });
    blocking.on('ready', () => {
      if (lost) this.ctx.logger.info({ consumer: this.consumer }, 'omnibus redis: consumer reconnected');
      lost = false;
    });
    try {
      await connectClient(blocking, options.connectTimeoutMs);
    } catch (error) {
      const cause = safeError(error, settings.secrets);
      throw new ConnectionError(`cannot open the consumer connection to Redis at ${settings.display}: ${cause.message}`, { cause });
    }
    this.blocking = blocking;
    this.unwatch = this.ctx.health.watch(blocking);
    // Claim at once: entries left by consumers that died before this one started.
    this.nextClaimAt = Date.now();
    this.nextReapAt = Date.now() + Math.min(options.consumerExpiryMs, 60_000);
    this.heartbeat = setInterval(() => void this.beat(), Math.max(20, Math.floor(options.claimIdleMs / 3)));
    this.heartbeat.unref();
    this.loopDone = this.loop(blocking);
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopReading();
    return this.stopping;
  }

  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  // --- DeliveryOwner -------------------------------------------------------------

  ack(delivery: RedisDelivery): Promise<void> {
    this.free(delivery);
    return this.ackEntry(delivery.entry);
  }

  nack(delivery: RedisDelivery, delayMs: number, headers?: NackOptions['headers']): Promise<void> {
    this.free(delivery);
    return this.requeueEntry(delivery.entry, delivery.attempt + 1, delayMs, headers);
  }

  /** A delivery settled (its SettleOnce let the first ack or nack through): its capacity is free. */
  private free(delivery: RedisDelivery): void {
    this.unsettled.delete(delivery);
    this.held.delete(heldKey(delivery.entry));
    this.endTurnSoon();
  }

  /**
   * At the end of this turn of the event loop (setImmediate): send the acks settled in it
   * as one batch, then let the read loop refill the capacity they freed, with one read
   * instead of one per settled delivery.
   */
  private endTurnSoon(): void {
    if (this.turnEndScheduled) return;
    this.turnEndScheduled = true;
    setImmediate(() => {
      this.turnEndScheduled = false;
      const flushed = this.ackFlushed;
      void this.flushAcks().finally(flushed);
      this.wake();
    });
  }

  /**
   * Acks are batched: those settled in one turn of the event loop go out together on the
   * next (setImmediate), as one XACK with every id per stream (plus XDEL for redelivery
   * entries, in the same MULTI). A plain XACK, without the ownership check nacks make:
   * an ack always follows a finished handler, so acking an entry that another member
   * claimed meanwhile only marks a processed message as done (see README, Delivery semantics).
   */
  private ackEntry(entry: HeldEntry): Promise<void> {
    if (!this.ctx.isOpen()) return Promise.resolve();
    this.ackQueue.push(entry);
    this.ackFlush ??= new Promise<void>((resolve) => {
      this.ackFlushed = resolve;
    });
    this.endTurnSoon();
    return this.ackFlush;
  }

  /** Sends the queued acks (synchronously, before its first await). Never rejects. */
  private async flushAcks(): Promise<void> {
    const batch = this.ackQueue;
    this.ackQueue = [];
    this.ackFlush = undefined;
    this.ackFlushed = () => {};
    if (batch.length === 0 || !this.ctx.isOpen()) return;
    const { client } = this.ctx;
    const { group } = this.params;
    const acks = new Map<string, string[]>();
    const deletes = new Map<string, string[]>();
    for (const entry of batch) {
      pushTo(acks, entry.stream, entry.id);
      if (entry.redelivery) pushTo(deletes, entry.stream, entry.id);
    }
    try {
      if (deletes.size === 0 && acks.size === 1) {
        for (const [stream, ids] of acks) await client.xack(stream, group, ...ids);
        return;
      }
      // Redelivery entries are deleted once acked; MULTI keeps XACK and XDEL together.
      const multi = client.multi();
      for (const [stream, ids] of acks) multi.xack(stream, group, ...ids);
      for (const [stream, ids] of deletes) multi.xdel(stream, ...ids);
      const results = await multi.exec();
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
    } catch (error) {
      this.report(error, `ack of ${batch.length} message(s) failed (they will be redelivered after the claim idle time)`);
    }
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

  private async loop(blocking: ScriptedRedis): Promise<void> {
    const { concurrency } = this.params;
    const backoff = reconnectBackoff(this.ctx.options, { jitter: false });
    let failures = 0;
    while (!this.stopped) {
      try {
        this.handOver();
        if (this.unsettled.size + this.buffer.length >= concurrency) {
          await this.idle();
          continue;
        }
        if (Date.now() >= this.nextClaimAt) {
          await this.claim(blocking);
          this.handOver();
          if (this.stopped || this.unsettled.size + this.buffer.length >= concurrency) continue;
        }
        // While a claim scan is unfinished, read without blocking so both make progress.
        await this.read(blocking, concurrency - this.unsettled.size - this.buffer.length, Date.now() >= this.nextClaimAt ? undefined : this.ctx.options.blockMs);
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        if (isRedisError(error, 'NOGROUP')) {
          await this.recreateGroups().catch((cause: unknown) => this.report(cause, 'recreating the consumer group failed'));
        } else {
          failures += 1;
          this.report(error, 'reading from Redis failed, retrying');
        }
        await this.idle(reconnectDelay(backoff, failures + 1));
      }
    }
  }

  /** XREADGROUP on both streams; `blockMs` undefined: do not block. */
  private async read(blocking: ScriptedRedis, count: number, blockMs: number | undefined): Promise<void> {
    const { group } = this.params;
    const block = blockMs === undefined ? [] : ['BLOCK', blockMs];
    this.reading = true;
    let reply: unknown;
    try {
      reply = await this.unlessStopped(blocking.callBuffer('XREADGROUP', 'GROUP', group, this.consumer, 'COUNT', count, ...block, 'STREAMS', this.topicKey, this.retryKey, '>', '>'));
    } finally {
      this.reading = false;
    }
    if (!Array.isArray(reply)) return;
    for (const streamReply of reply) {
      if (!Array.isArray(streamReply)) continue;
      const stream = String(streamReply[0]);
      const entries: unknown = streamReply[1];
      if (!Array.isArray(entries)) continue;
      let newest: string | undefined;
      for (const raw of entries) {
        if (!Array.isArray(raw)) continue;
        const id = String(raw[0]);
        newest = id;
        this.take(stream, id, raw[1], 1);
      }
      // A stream's entries come in id order: only the last one can move lastSeen.
      if (stream === this.topicKey && newest !== undefined && compareIds(newest, this.lastSeen) > 0) this.lastSeen = newest;
    }
  }

  /** XAUTOCLAIM on both streams, as many entries as there is room for. */
  private async claim(blocking: ScriptedRedis): Promise<void> {
    const { group, concurrency } = this.params;
    const { claimIdleMs } = this.ctx.options;
    let more = false;
    for (const stream of [this.topicKey, this.retryKey]) {
      const room = concurrency - this.unsettled.size - this.buffer.length;
      if (room <= 0) {
        more = true;
        break;
      }
      const reply = await this.unlessStopped(blocking.omnibusClaimBuffer(stream, group, this.consumer, claimIdleMs, this.cursors.get(stream) ?? '0-0', room));
      if (reply === HALTED) return;
      if (!Array.isArray(reply)) continue;
      const [cursor, entries, counts] = reply as [unknown, unknown, unknown];
      const next = String(cursor);
      this.cursors.set(stream, next);
      if (next !== '0-0') more = true;
      if (!Array.isArray(entries)) continue;
      entries.forEach((raw: unknown, index) => {
        if (!Array.isArray(raw)) return;
        const count = Array.isArray(counts) ? Number(counts[index]) : 1;
        this.take(stream, String(raw[0]), raw[1], count);
      });
    }
    this.nextClaimAt = more ? Date.now() : Date.now() + this.claimIntervalMs;
    if (Date.now() >= this.nextReapAt) {
      const { consumerExpiryMs } = this.ctx.options;
      this.nextReapAt = Date.now() + Math.min(consumerExpiryMs, 60_000);
      for (const stream of [this.topicKey, this.retryKey]) await this.unlessStopped(blocking.omnibusReap(stream, group, consumerExpiryMs, ''));
    }
  }

  /**
   * A command on the blocking connection, abandoned on stop(): while ioredis waits to
   * reconnect, a queued command would only fail after its timeout, and stop() must be prompt.
   */
  private unlessStopped<T>(command: Promise<T>): Promise<T | typeof HALTED> {
    return this.halt.race(command);
  }

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
    while (!this.stopped && this.unsettled.size < this.params.concurrency) {
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

  private async recreateGroups(): Promise<void> {
    const { group, topic } = this.params;
    await createGroup(this.ctx.client, this.topicKey, group, this.lastSeen);
    await createGroup(this.ctx.client, this.retryKey, group, '0');
    this.cursors.clear();
    const error = new Error(`consumer group "${group}" of topic "${topic}" was missing in Redis (NOGROUP: the stream or group was deleted, or Redis lost its data) and was recreated after entry ${this.lastSeen}`);
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

  // --- heartbeat, stop, close ----------------------------------------------------

  /** Keep the entries this consumer holds from looking idle (and being claimed). */
  private async beat(): Promise<void> {
    if (this.beating || this.held.size === 0 || !this.ctx.isOpen()) return;
    this.beating = true;
    try {
      const byStream = new Map<string, string[]>();
      for (const entry of this.held.values()) byStream.set(entry.stream, [...(byStream.get(entry.stream) ?? []), entry.id]);
      for (const [stream, ids] of byStream) await this.ctx.client.omnibusHeartbeat(stream, this.params.group, this.consumer, ...ids);
    } catch (error) {
      this.ctx.logger.debug({ err: safeError(error, this.ctx.settings.secrets), consumer: this.consumer }, 'omnibus redis: heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  private async stopReading(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.halt.trigger();
    this.unwatch();
    // A blocked XREADGROUP only returns after blockMs: cut its connection instead.
    // (Entries Redis handed out in that instant stay pending and are claimed later.)
    if (this.reading) this.blocking?.disconnect();
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
  }

  private async release(): Promise<void> {
    await this.stop();
    // Unsettled deliveries go back for redelivery (attempt + 1), never acked.
    await Promise.all([...this.unsettled].map((delivery) => delivery.nack()));
    // Acks still batched go out before the consumer leaves its group.
    await this.ackFlush;
    clearInterval(this.heartbeat);
    if (this.ctx.isOpen()) {
      try {
        // Leave the group if nothing is pending for this consumer any more.
        for (const stream of [this.topicKey, this.retryKey]) await this.ctx.client.omnibusReap(stream, this.params.group, this.ctx.options.consumerExpiryMs, this.consumer);
      } catch (error) {
        this.ctx.logger.debug({ err: safeError(error, this.ctx.settings.secrets) }, 'omnibus redis: removing the consumer failed');
      }
    }
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

function pushTo(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function heldKey(entry: HeldEntry): string {
  return `${entry.stream} ${entry.id}`;
}
