import { ConnectionError, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import type { Assignment, FetchedBatch, KafkaDriver, OutgoingRecord } from '../driver/driver.js';
import { fromRecord } from '../envelope.js';
import { describeError, sanitizeError } from '../errors.js';
import type { GroupNames } from '../topology.js';
import { Committer } from './committer.js';
import type { DeliveryOwner, KafkaDelivery } from './delivery.js';
import { Dispatcher } from './dispatcher.js';
import { Membership } from './membership.js';
import type { Entry } from './partition.js';
import { Rejoin } from './rejoin.js';
import { RetryWriter } from './retry-writer.js';
import { shutdown } from './shutdown.js';

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

/**
 * The subscription's lifecycle, one value; each transition is a method below:
 * - `running`: hands over deliveries whenever the group has an assignment;
 * - `stopped` (stop): hands over and fetches nothing; the membership stays so that acks of
 *   in-flight deliveries still commit;
 * - `draining` (close): stopped, and no member replacement starts; retry writes finish;
 * - `closed` (close, or a failed start): group callbacks are ignored, and settling a delivery
 *   commits nothing.
 */
export type SubscriptionState = 'running' | 'stopped' | 'draining' | 'closed';

/**
 * One subscription: a consumer-group member over the main, delay and retry topics
 * of (topic, group), and the dispatcher between its partition buffers and the
 * handler. The jobs live apart: the group membership and its partitions
 * (membership.ts), replacing a failed member (rejoin.ts), hand-overs (dispatcher.ts),
 * nacks written to the retry topic (retry-writer.ts), commits (committer.ts) and the
 * close sequence (shutdown.ts). This class holds the lifecycle and joins them.
 *
 * - A full buffer pauses fetching of its partition only.
 * - ack marks the offset done; nack writes the message to the retry topic and then
 *   marks it done. The committed offset is the lowest offset not done.
 * - A rebalance stops hand-overs and commits until the new assignment; revoked
 *   partitions are dropped and their in-flight deliveries become no-ops.
 */
export class KafkaSubscription implements TransportSubscription, DeliveryOwner {
  private state: SubscriptionState = 'running';
  private readonly membership: Membership;
  private readonly committer: Committer;
  private readonly dispatcher: Dispatcher;
  private readonly retries: RetryWriter;
  private readonly rejoin: Rejoin;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly params: SubscribeParams,
    private readonly names: GroupNames,
    private readonly deps: SubscriptionDeps,
  ) {
    const { settings, logger } = deps;
    const membership = new Membership({
      driver: deps.driver,
      names,
      logger,
      secrets: deps.secrets,
      events: {
        onBatch: (batch) => this.onBatch(batch),
        onRevoking: () => this.onRevoking(),
        onAssigned: (assignment) => this.onAssigned(assignment),
        onCrash: (error, restarting) => this.onCrash(error, restarting),
      },
    });
    this.membership = membership;
    this.committer = new Committer({
      groupId: names.groupId,
      intervalMs: settings.commitIntervalMs,
      partitions: () => membership.partitions(),
      canCommit: () => membership.assigned,
      epoch: () => membership.epoch,
      commit: (offsets) => membership.commit(offsets),
      onError: (error) => this.report(`committing offsets of group "${names.groupId}" failed`, error),
      logger,
    });
    this.dispatcher = new Dispatcher({
      params,
      bufferSize: settings.bufferSize,
      owner: this,
      isOpen: () => this.state === 'running' && membership.assigned,
      partitions: () => membership.order,
      resume: (partition) => membership.resume([partition]),
      handedOver: () => this.committer.schedule(),
    });
    this.retries = new RetryWriter({
      topic: names.retry,
      publish: deps.publish,
      isStale: (delivery) => this.isStale(delivery),
      done: (delivery) => this.done(delivery),
      release: (delivery) => this.dispatcher.release(delivery),
      report: (what, error) => this.report(what, error),
    });
    this.rejoin = new Rejoin({
      membership,
      groupId: names.groupId,
      joinTimeoutMs: settings.joinTimeoutMs,
      logger,
      shuttingDown: () => this.shuttingDown(),
      report: (what, error) => this.report(what, error),
    });
  }

  /** The Kafka consumer group this subscription reads. */
  get groupId(): string {
    return this.names.groupId;
  }

  // ---- lifecycle ----

  /** Join the group; resolves once partitions are assigned (so no rebalance follows right after). A failure: → closed. */
  async start(): Promise<void> {
    const member = this.membership.join();
    try {
      await member.start(this.deps.settings.joinTimeoutMs);
    } catch (error) {
      this.state = 'closed';
      await member.stop().catch(() => {});
      throw new ConnectionError(`kafka: joining group "${this.names.groupId}" failed: ${describeError(error, this.deps.secrets)}`, { cause: sanitizeError(error, this.deps.secrets) });
    }
  }

  /** running → stopped. */
  async stop(): Promise<void> {
    this.runStop();
  }

  /** → draining → closed. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  private runStop(): void {
    if (this.state !== 'running') return;
    this.state = 'stopped';
    this.dispatcher.stopTimer();
    // Stop fetching; the membership stays so that acks of in-flight deliveries still commit.
    this.membership.pause(this.membership.order);
  }

  private async runClose(): Promise<void> {
    this.runStop();
    this.state = 'draining';
    // A member being replaced: no further attempt (the one under way is stopped with the member).
    this.rejoin.cancel();
    await shutdown({
      groupId: this.names.groupId,
      closeTimeoutMs: this.deps.settings.closeTimeoutMs,
      retryWrites: () => this.retries.ended(),
      markClosed: () => {
        this.state = 'closed';
        this.committer.stop();
      },
      finalCommit: () => this.committer.flush(),
      leaveGroup: () => this.membership.stop(),
      rejoinEnded: () => this.rejoin.ended(),
      report: (what, error) => this.report(what, error),
    });
    this.membership.clear();
    this.dispatcher.clear();
    this.deps.logger.debug({ groupId: this.names.groupId }, 'kafka: subscription closed');
  }

  private get closed(): boolean {
    return this.state === 'closed';
  }

  /** close() was called: no member replacement starts or goes on. */
  private shuttingDown(): boolean {
    return this.state === 'draining' || this.state === 'closed';
  }

  // ---- group membership (driver callbacks of the current member) ----

  private onAssigned(assignment: Assignment): void {
    if (this.closed) return;
    this.membership.assign(assignment, this.state !== 'running');
    this.committer.schedule();
    this.dispatcher.dispatch();
  }

  private onRevoking(): void {
    if (this.closed) return;
    // Still the old generation: commit what is settled before the partitions move.
    void this.committer.flush();
    this.membership.revoking();
    this.deps.logger.debug({ groupId: this.names.groupId }, 'kafka: rebalance started');
  }

  private onCrash(error: Error, restarting: boolean): void {
    if (this.closed) return;
    this.membership.crashed(restarting);
    if (restarting) {
      this.report(`the consumer of group "${this.names.groupId}" failed and rejoins`, error);
      return;
    }
    // A member started by the replacement that fails is reported there, once per attempt.
    if (this.rejoin.underway) return;
    this.report(`the consumer of group "${this.names.groupId}" failed; a new member replaces it`, error);
    if (!this.shuttingDown()) this.rejoin.start();
  }

  private async onBatch(batch: FetchedBatch): Promise<void> {
    if (this.closed) return;
    const state = this.membership.partitionOf(batch.topic, batch.partition);
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
      this.membership.pause([state]);
    }
    // Records skipped by the broker (control records, compaction) can move the watermark.
    if (entries.length === 0) this.committer.schedule();
    this.dispatcher.dispatch();
  }

  // ---- settlement (DeliveryOwner) ----

  /** Stale: its partition was revoked or the subscription closed; settling it must not commit anything. */
  private isStale(delivery: KafkaDelivery): boolean {
    return this.closed || delivery.partition.revoked;
  }

  private done(delivery: KafkaDelivery): void {
    delivery.partition.markDone(delivery.entry.offset);
    this.committer.schedule();
  }

  settleAck(delivery: KafkaDelivery): void {
    if (!this.isStale(delivery)) this.done(delivery);
    this.dispatcher.release(delivery);
  }

  settleNack(delivery: KafkaDelivery, options: NackOptions): Promise<void> {
    if (this.isStale(delivery)) {
      this.dispatcher.release(delivery);
      return Promise.resolve();
    }
    return this.retries.write(delivery, options);
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
