import { backoffDelay, ConnectionError, exponentialBackoff, pause, withTimeout, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import type { Assignment, FetchedBatch, GroupMember, KafkaDriver, MemberHandlers, OutgoingRecord } from '../driver/driver.js';
import { fromRecord, toRecord } from '../envelope.js';
import { describeError, sanitizeError } from '../errors.js';
import type { GroupNames } from '../topology.js';
import { Committer } from './committer.js';
import { KafkaDelivery, type DeliveryOwner } from './delivery.js';
import { PartitionState, type Entry, type PartitionRole } from './partition.js';

export interface SubscriptionSettings {
  readonly bufferSize: number;
  readonly commitIntervalMs: number;
  readonly joinTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

export interface SubscriptionDeps {
  readonly driver: KafkaDriver;
  /** Produce to a retry topic (acks=all). */
  readonly publish: (records: readonly OutgoingRecord[]) => Promise<void>;
  readonly settings: SubscriptionSettings;
  readonly logger: Logger;
  readonly secrets: readonly string[];
}

/** A nack whose retry record cannot be written is redelivered locally after at least this long. */
const LOCAL_RETRY_DELAY_MS = 1_000;
/** Reading committed metadata blocks the first batch of a partition (and so the fetch loop): not for long. */
const INHERIT_TIMEOUT_MS = 5_000;
const MAX_TIMER_MS = 3_600_000;
/** Backoff between attempts to replace a member that failed for good (kafkajs gave up on it). */
const REJOIN_BACKOFF = exponentialBackoff(250, 30_000);

/**
 * One subscription: a consumer-group member over the main, delay and retry topics
 * of (topic, group), and the dispatcher between its partition buffers and the
 * handler.
 *
 * - Up to `concurrency` deliveries are unsettled at once, taken round-robin from
 *   the partitions; a key has at most one delivery in flight, so its order holds.
 * - Delay and retry messages wait in their buffer until due (a timer, never a sleep
 *   in the fetch loop); a full buffer pauses fetching of its partition only.
 * - ack marks the offset done; nack writes the message to the retry topic
 *   (attempt + 1, due time, merged headers) and then marks it done. The committed
 *   offset is the lowest offset not done.
 * - A rebalance stops hand-overs and commits until the new assignment; revoked
 *   partitions are dropped and their in-flight deliveries become no-ops.
 */
export class KafkaSubscription implements TransportSubscription, DeliveryOwner {
  private member: GroupMember | undefined;
  private readonly partitions = new Map<string, PartitionState>();
  private order: PartitionState[] = [];
  private cursor = 0;
  private readonly busyKeys = new Set<string>();
  private readonly inFlight = new Set<KafkaDelivery>();
  /** Nacks writing to the retry topic: close waits for them so their offsets can be committed. */
  private readonly settling = new Set<Promise<void>>();
  private readonly committer: Committer;
  private readonly roles: ReadonlyMap<string, PartitionRole>;
  private memberId: string | undefined;
  /** Numbers the members this subscription created: callbacks of a replaced member are ignored. */
  private memberGeneration = 0;
  /** Replacing a member that failed for good; undefined otherwise. */
  private rejoining: Promise<void> | undefined;
  /** The current member reported a crash it does not recover from (reset for each new member). */
  private memberFailed = false;
  /** Aborted on close: cuts short the wait before the next rejoin attempt. */
  private readonly closeSignal = new AbortController();
  /** Counts assignments; 0 before the first. */
  private epoch = 0;
  private rebalancing = true;
  private stopped = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private dispatching = false;
  private redispatch = false;
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly params: SubscribeParams,
    private readonly names: GroupNames,
    private readonly deps: SubscriptionDeps,
  ) {
    this.roles = new Map<string, PartitionRole>([
      [names.main, 'main'],
      [names.delay, 'delay'],
      [names.retry, 'retry'],
    ]);
    this.committer = new Committer({
      groupId: names.groupId,
      intervalMs: deps.settings.commitIntervalMs,
      partitions: () => this.partitions.values(),
      canCommit: () => !this.rebalancing && this.member !== undefined,
      epoch: () => this.epoch,
      commit: (offsets) => (this.member as GroupMember).commit(offsets),
      onError: (error) => this.report(`committing offsets of group "${names.groupId}" failed`, error),
      logger: deps.logger,
    });
  }

  /** The Kafka consumer group this subscription reads. */
  get groupId(): string {
    return this.names.groupId;
  }

  /** Join the group; resolves once partitions are assigned (so no rebalance follows right after). */
  async start(): Promise<void> {
    const member = this.newMember();
    try {
      await member.start(this.deps.settings.joinTimeoutMs);
    } catch (error) {
      this.closed = true;
      await member.stop().catch(() => {});
      throw new ConnectionError(`kafka: joining group "${this.names.groupId}" failed: ${describeError(error, this.deps.secrets)}`, { cause: sanitizeError(error, this.deps.secrets) });
    }
  }

  /**
   * A fresh member whose callbacks reach this subscription only while it is the
   * current one: a replaced member may still report a late crash or batch.
   */
  private newMember(): GroupMember {
    const generation = ++this.memberGeneration;
    const current = () => generation === this.memberGeneration;
    this.memberFailed = false;
    const handlers: MemberHandlers = {
      onBatch: (batch) => (current() ? this.onBatch(batch) : Promise.resolve()),
      onRevoking: () => {
        if (current()) this.onRevoking();
      },
      onAssigned: (assignment) => {
        if (current()) this.onAssigned(assignment);
      },
      onCrash: (error, restarting) => {
        if (current()) this.onCrash(error, restarting);
      },
    };
    const member = this.deps.driver.member({ groupId: this.names.groupId, topics: [this.names.main, this.names.delay, this.names.retry], handlers });
    this.member = member;
    return member;
  }

  /**
   * Replace a member that will not restart by itself (kafkajs gives up for good on
   * errors it deems non-retriable, e.g. no group coordinator found while the broker
   * is unreachable): a subscription never stops consuming because of a broker outage.
   * Joins a new member with backoff until one gets an assignment or the subscription closes.
   */
  private rejoin(): Promise<void> {
    this.rejoining ??= (async () => {
      try {
        for (let attempt = 1; !this.closing && !this.closed; attempt += 1) {
          await this.member?.stop().catch(() => {});
          await pause(backoffDelay(REJOIN_BACKOFF, attempt), this.closeSignal.signal);
          if (this.closing || this.closed) return;
          const member = this.newMember();
          try {
            await member.start(this.deps.settings.joinTimeoutMs);
            // It may have failed already, between joining and this line (onCrash left it to us).
            if (this.memberFailed) throw new Error('the new member failed right after joining');
            this.deps.logger.info({ groupId: this.names.groupId }, 'kafka: a new member joined in place of the failed one');
            return;
          } catch (error) {
            if (this.closing || this.closed) return;
            this.report(`replacing the failed consumer of group "${this.names.groupId}" failed; trying again in ${backoffDelay(REJOIN_BACKOFF, attempt + 1)} ms`, error);
          }
        }
      } finally {
        this.rejoining = undefined;
      }
    })();
    return this.rejoining;
  }

  // ---- group membership (driver callbacks) ----

  onAssigned(assignment: Assignment): void {
    if (this.closed) return;
    const member = this.member as GroupMember;
    if (assignment.memberId !== this.memberId) {
      // A new membership: whatever we held may have been processed by others since.
      if (this.memberId !== undefined) this.revokeAll();
      this.memberId = assignment.memberId;
    }
    const assigned = new Set(assignment.partitions.map(({ topic, partition }) => `${topic}:${partition}`));
    for (const state of [...this.partitions.values()]) if (!assigned.has(state.id)) this.revoke(state);
    const fresh: PartitionState[] = [];
    for (const tp of assignment.partitions) {
      const existing = this.partitions.get(`${tp.topic}:${tp.partition}`);
      if (existing) {
        // Kept across the rebalance: kafkajs fetches again from the committed offset, and onBatch
        // drops what the buffer already holds (seen()). No seek: kafkajs keeps a seek that no fetch
        // applied before the next rebalance, and would apply it when the partition comes back,
        // skipping what another owner had not processed.
        if (existing.paused || this.stopped) member.pause([tp]);
        else member.resume([tp]);
        continue;
      }
      const state = new PartitionState(tp.topic, tp.partition, this.roles.get(tp.topic) ?? 'main');
      this.partitions.set(state.id, state);
      fresh.push(state);
      // kafkajs remembers pauses across assignments: clear any left from an earlier one.
      if (this.stopped) member.pause([tp]);
      else member.resume([tp]);
    }
    if (fresh.length) {
      const loading = this.inherit(fresh);
      for (const state of fresh) state.ready = loading;
    }
    this.order = [...this.partitions.values()];
    this.rebalancing = false;
    this.epoch += 1;
    this.deps.logger.debug({ groupId: this.names.groupId, memberId: assignment.memberId, epoch: this.epoch, partitions: this.order.map((p) => p.id) }, 'kafka: partitions assigned');
    this.committer.schedule();
    this.dispatch();
  }

  onRevoking(): void {
    if (this.closed) return;
    // Still the old generation: commit what is settled before the partitions move.
    void this.committer.flush();
    this.rebalancing = true;
    this.deps.logger.debug({ groupId: this.names.groupId }, 'kafka: rebalance started');
  }

  onCrash(error: Error, restarting: boolean): void {
    if (this.closed) return;
    this.revokeAll();
    this.rebalancing = true;
    if (restarting) {
      this.report(`the consumer of group "${this.names.groupId}" failed and rejoins`, error);
      return;
    }
    this.memberFailed = true;
    // A member started by rejoin() that fails is reported there, once per attempt.
    if (this.rejoining) return;
    this.report(`the consumer of group "${this.names.groupId}" failed; a new member replaces it`, error);
    if (!this.closing) void this.rejoin();
  }

  async onBatch(batch: FetchedBatch): Promise<void> {
    if (this.closed) return;
    const id = `${batch.topic}:${batch.partition}`;
    let state = this.partitions.get(id);
    if (!state) {
      // Not announced by an assignment (should not happen): adopt it as fresh.
      state = new PartitionState(batch.topic, batch.partition, this.roles.get(batch.topic) ?? 'main');
      this.partitions.set(id, state);
      this.order = [...this.partitions.values()];
      state.ready = this.inherit([state]);
    }
    await state.ready;
    if (this.closed || state.revoked) return;
    const topic = this.params.topic;
    const entries: Entry[] = [];
    for (const record of batch.records) {
      const offset = BigInt(record.offset);
      if (state.seen(offset)) continue;
      entries.push(fromRecord(record, offset, topic, batch.topic, batch.partition, state));
    }
    state.accept(entries, BigInt(batch.nextOffset));
    if (!state.paused && state.buffered >= this.deps.settings.bufferSize) {
      state.paused = true;
      this.member?.pause([state]);
    }
    // Records skipped by the broker (control records, compaction) can move the watermark.
    if (entries.length === 0) this.committer.schedule();
    this.dispatch();
  }

  // ---- dispatch ----

  private dispatch(): void {
    if (this.dispatching) {
      this.redispatch = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.redispatch = false;
        this.dispatchOnce();
      } while (this.redispatch);
    } finally {
      this.dispatching = false;
    }
  }

  private dispatchOnce(): void {
    if (!this.isOpen()) return;
    const now = Date.now();
    // Re-checked per hand-over: onDelivery may stop the subscription.
    while (this.isOpen() && this.inFlight.size < this.params.concurrency && this.order.length > 0) {
      let handed = false;
      for (let i = 0; i < this.order.length; i += 1) {
        const index = (this.cursor + i) % this.order.length;
        const state = this.order[index] as PartitionState;
        const entry = state.take(now, this.busyKeys);
        if (!entry) continue;
        this.cursor = (index + 1) % this.order.length;
        this.resumeIfDrained(state);
        this.handOver(state, entry);
        handed = true;
        break;
      }
      if (!handed) break;
    }
    if (this.isOpen()) this.armDueTimer(now);
  }

  /** Hand-overs may happen: not stopped, closed or in a rebalance. */
  private isOpen(): boolean {
    return !this.stopped && !this.closed && !this.rebalancing;
  }

  private handOver(state: PartitionState, entry: Entry): void {
    const delivery = new KafkaDelivery(this, state, entry);
    this.inFlight.add(delivery);
    if (entry.message.key !== undefined) this.busyKeys.add(entry.message.key);
    state.markHanded(entry.offset);
    // The delivery frontier moved: record it (commit metadata) for the attempt count of a next owner.
    this.committer.schedule();
    try {
      this.params.onDelivery(delivery);
    } catch (error) {
      this.params.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private resumeIfDrained(state: PartitionState): void {
    if (state.paused && state.buffered <= this.deps.settings.bufferSize / 2) {
      state.paused = false;
      if (!this.stopped) this.member?.resume([state]);
    }
  }

  /** Wake up when the earliest waiting delay/retry message is due. */
  private armDueTimer(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const state of this.order) {
      const due = state.nextDueAfter(now);
      if (due !== undefined && due < next) next = due;
    }
    if (next === this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.dispatch();
      // Capped: Node fires longer timeouts at once. Waking early only re-arms.
    }, Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now())));
    this.dueTimer.unref();
  }

  // ---- settlement ----

  /** Stale: its partition was revoked or the subscription closed; settling it must not commit anything. */
  private isStale(delivery: KafkaDelivery): boolean {
    return this.closed || delivery.partition.revoked;
  }

  settleAck(delivery: KafkaDelivery): void {
    if (!this.isStale(delivery)) {
      delivery.partition.markDone(delivery.entry.offset);
      this.committer.schedule();
    }
    this.release(delivery);
  }

  settleNack(delivery: KafkaDelivery, options: NackOptions): Promise<void> {
    if (this.isStale(delivery)) {
      this.release(delivery);
      return Promise.resolve();
    }
    const settling = this.retryLater(delivery, options).finally(() => this.settling.delete(settling));
    this.settling.add(settling);
    return settling;
  }

  private async retryLater(delivery: KafkaDelivery, options: NackOptions): Promise<void> {
    const { entry, partition } = delivery;
    const delayMs = options.delayMs ?? 0;
    const message = options.headers ? { ...entry.message, headers: { ...entry.message.headers, ...options.headers } } : entry.message;
    const attempt = entry.attempt + 1;
    try {
      await this.deps.publish([toRecord(message, this.names.retry, { attempt, dueAt: Date.now() + delayMs })]);
    } catch (error) {
      // Keep the offset open and redeliver from memory: never lost, never acked.
      if (!this.isStale(delivery)) partition.requeue({ ...entry, message, attempt, dueAt: Date.now() + Math.max(delayMs, LOCAL_RETRY_DELAY_MS) });
      this.report(`writing a retry of message "${entry.message.id}" to "${this.names.retry}" failed; redelivering it from memory`, error);
      this.release(delivery);
      return;
    }
    if (!this.isStale(delivery)) {
      partition.markDone(entry.offset);
      this.committer.schedule();
    }
    this.release(delivery);
  }

  private release(delivery: KafkaDelivery): void {
    if (!this.inFlight.delete(delivery)) return;
    const key = delivery.entry.message.key;
    if (key !== undefined) this.busyKeys.delete(key);
    this.dispatch();
  }

  // ---- revocation ----

  private revoke(state: PartitionState): void {
    state.revoked = true;
    state.clear();
    this.partitions.delete(state.id);
  }

  private revokeAll(): void {
    for (const state of [...this.partitions.values()]) this.revoke(state);
    this.order = [];
  }

  /** Read the committed offsets and metadata of freshly assigned partitions. */
  private async inherit(states: readonly PartitionState[]): Promise<void> {
    try {
      const topics = [...new Set(states.map((s) => s.topic))];
      const committed = await withTimeout(this.deps.driver.committedOffsets(this.names.groupId, topics), INHERIT_TIMEOUT_MS, () => new Error('timed out'));
      const byId = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c]));
      for (const state of states) {
        const found = byId.get(state.id);
        if (found) state.inherit(BigInt(found.offset), found.metadata);
      }
    } catch (error) {
      // Only the attempt count of redelivered messages suffers.
      this.deps.logger.debug({ groupId: this.names.groupId, err: sanitizeError(error, this.deps.secrets) }, 'kafka: reading committed metadata failed');
    }
  }

  // ---- stop / close ----

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.dueAt = Number.POSITIVE_INFINITY;
    // Stop fetching; the membership stays so that acks of in-flight deliveries still commit.
    this.member?.pause(this.order);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await this.stop();
    // A member being replaced: no further attempt (the one under way is stopped below with this.member).
    this.closeSignal.abort();
    const { closeTimeoutMs } = this.deps.settings;
    const deadline = Date.now() + closeTimeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    const expired = () => new Error('close timeout');
    // Nacks being written to the retry topic finish first, so their offsets count as done.
    await withTimeout(Promise.allSettled([...this.settling]), left() / 2, expired).catch(() => {});
    // From here on, unsettled deliveries are released: a later ack/nack does nothing.
    this.closed = true;
    this.committer.stop();
    await withTimeout(this.committer.flush(), left() / 2, expired).catch((error: unknown) => this.report(`the final commit of group "${this.names.groupId}" failed`, error));
    await withTimeout(this.member?.stop() ?? Promise.resolve(), left(), expired).catch((error: unknown) => this.report(`leaving group "${this.names.groupId}" failed`, error));
    await withTimeout(this.rejoining ?? Promise.resolve(), left(), expired).catch(() => {});
    for (const state of this.partitions.values()) state.clear();
    this.partitions.clear();
    this.order = [];
    this.inFlight.clear();
    this.busyKeys.clear();
    this.deps.logger.debug({ groupId: this.names.groupId }, 'kafka: subscription closed');
  }

  private report(what: string, error: unknown): void {
    const wrapped = new ConnectionError(`kafka: ${what}: ${describeError(error, this.deps.secrets)}`, { cause: sanitizeError(error, this.deps.secrets) });
    this.deps.logger.debug({ groupId: this.names.groupId, err: wrapped }, `kafka: ${what}`);
    try {
      this.params.onError(wrapped);
    } catch {
      // A throwing error callback must not break the transport.
    }
  }
}
