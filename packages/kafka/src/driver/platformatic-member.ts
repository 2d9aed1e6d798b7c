import { withTimeout } from '@omnibus/core';
import { Consumer, type GroupAssignment } from '@platformatic/kafka';
import { retrying } from '../errors.js';
import type { ConnectionObserver, GroupMember, MemberSettings, PartitionOffset, TopicPartition } from './driver.js';
import { commitOffsets, coordinatorConnection, type Committer } from './platformatic-commit.js';
import { noteTimeout, watchClient } from './platformatic-connection.js';
import { driverError, timedOut } from './platformatic-errors.js';
import { Fetcher } from './platformatic-fetcher.js';
import { backoffRetries, clientOptions, type PlatformaticClientSettings } from './platformatic-options.js';

export interface PlatformaticMemberTimings extends PlatformaticClientSettings {
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxWaitTimeMs: number;
}

/**
 * - `idle`: not started;
 * - `joining`: start() waits for the first assignment;
 * - `member`: holds an assignment of `committer`'s generation (also while a rebalance is under way);
 * - `crashed`: the client gave up rejoining (onCrash told, restarting = false);
 * - `stopped`: stop() was called.
 */
/** What the consumer's 'consumer:group:join' event carries (@platformatic/kafka 1.22 exports no type for it). */
interface GroupJoin {
  readonly groupId: string;
  readonly memberId: string;
  readonly generationId?: number;
  readonly isLeader?: boolean;
  readonly assignments?: readonly GroupAssignment[] | null;
}

type MemberState = { readonly name: 'idle' | 'joining' | 'crashed' | 'stopped' } | { readonly name: 'member'; readonly committer: Committer };

/**
 * A consumer-group member on @platformatic/kafka. The client's Consumer keeps the
 * membership: it joins, heartbeats on a timer of its own (so a slow handler never costs the
 * membership), and rejoins by itself after a rebalance or an expired session; each join
 * is reported as an assignment. Fetching is the member's own (Fetcher), and so are commits
 * (platformatic-commit.ts: with metadata, under the assignment's generation only).
 */
export class PlatformaticMember implements GroupMember {
  private readonly consumer: Consumer;
  private readonly fetcher: Fetcher;
  private state: MemberState = { name: 'idle' };
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly settings: MemberSettings,
    private readonly timings: PlatformaticMemberTimings,
    private readonly connection: ConnectionObserver,
  ) {
    this.consumer = new Consumer({
      ...clientOptions(timings),
      groupId: settings.groupId,
      sessionTimeout: timings.sessionTimeoutMs,
      rebalanceTimeout: timings.rebalanceTimeoutMs,
      heartbeatInterval: timings.heartbeatIntervalMs,
      maxWaitTime: timings.maxWaitTimeMs,
      autocommit: false,
      // kafkajs' protocol name and subscription version (the encodings are Kafka's standard ones): a group can
      // have members on both drivers (one process switched at a time) without INCONSISTENT_GROUP_PROTOCOL.
      protocols: [{ name: 'RoundRobinAssigner', version: 0, metadata: Buffer.alloc(0) }],
    });
    backoffRetries(this.consumer, timings);
    // Both pools of the consumer: its own, and the one it fetches on.
    watchClient(this.consumer, connection, timings.requestTimeoutMs);
    this.fetcher = new Fetcher({
      consumer: this.consumer,
      maxWaitTimeMs: timings.maxWaitTimeMs,
      retryInitialDelayMs: timings.retryInitialDelayMs,
      onBatch: (batch) => settings.handlers.onBatch(batch),
      onError: (error) => this.noteFailure(error),
    });
    this.consumer.on('consumer:group:join', (payload: GroupJoin) => this.joined(payload));
    this.consumer.on('consumer:group:rebalance', () => {
      if (this.state.name !== 'member') return;
      this.fetcher.suspend();
      settings.handlers.onRevoking();
    });
    this.consumer.on('consumer:heartbeat:error', ({ error }) => this.noteFailure(error));
    // Emitted when rejoining failed for good (its retries spent).
    this.consumer.on('error', (error: Error) => this.crashed(error));
  }

  async start(timeoutMs: number): Promise<void> {
    if (this.state.name !== 'idle') return;
    this.state = { name: 'joining' };
    this.consumer.topics.trackAll(...this.settings.topics);
    // A topic created a moment ago may not be in the broker's metadata yet (retriable).
    const joining = retrying(async () => {
      try {
        await this.consumer.joinGroup({});
      } catch (error) {
        throw driverError(`joining group "${this.settings.groupId}"`, error);
      }
    });
    try {
      await withTimeout(joining, timeoutMs, () => new Error(`no partition assignment within ${timeoutMs} ms`));
    } catch (error) {
      joining.catch(() => {});
      throw this.state.name === 'stopped' ? new Error('the member was stopped before it joined') : error;
    }
    if (this.state.name === 'stopped') throw new Error('the member was stopped before it joined');
  }

  private joined(payload: GroupJoin): void {
    if (this.state.name === 'stopped' || this.state.name === 'crashed') return;
    this.state = { name: 'member', committer: { groupId: this.settings.groupId, generationId: payload.generationId ?? this.consumer.generationId, memberId: payload.memberId } };
    const partitions: TopicPartition[] = [];
    for (const { topic, partitions: numbers } of payload.assignments ?? []) for (const partition of numbers) partitions.push({ topic, partition });
    this.settings.handlers.onAssigned({ memberId: payload.memberId, partitions });
    this.fetcher.assign(partitions);
  }

  private crashed(error: Error): void {
    if (this.state.name === 'stopped' || this.state.name === 'crashed') return;
    this.state = { name: 'crashed' };
    this.fetcher.stop();
    const translated = driverError(`the consumer of group "${this.settings.groupId}"`, error);
    this.connection.failed(translated);
    this.settings.handlers.onCrash(translated, false);
  }

  private noteFailure(error: unknown): void {
    if (this.state.name === 'stopped') return;
    // A timeout says the connection is not working (lost, with why); anything else is only recorded.
    if (timedOut(error)) noteTimeout(error, this.connection, this.timings.requestTimeoutMs);
    else this.connection.failed(driverError(`the consumer of group "${this.settings.groupId}"`, error));
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.fetcher.pause(partitions);
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.fetcher.resume(partitions);
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    const { state } = this;
    if (state.name !== 'member') throw Object.assign(new Error('the member is not in the group'), { type: 'UNKNOWN_MEMBER_ID' });
    try {
      await commitOffsets(await coordinatorConnection(this.consumer, this.settings.groupId), state.committer, offsets);
    } catch (error) {
      noteTimeout(error, this.connection, this.timings.requestTimeoutMs);
      throw driverError(`committing offsets of group "${this.settings.groupId}"`, error);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.state = { name: 'stopped' };
      this.fetcher.stop();
      // Leaves the group (LeaveGroup) and closes the consumer's connections.
      // (also its fetch pool). close(force) without a callback returns a promise; the typings' first overload says void.
      await Promise.allSettled([this.consumer.close(true) as unknown as Promise<void>]);
    })();
    return this.stopping;
  }
}
