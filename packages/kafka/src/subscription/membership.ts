import { withTimeout, type Logger } from '@omnibus/core';
import type { Assignment, GroupMember, KafkaDriver, MemberHandlers, PartitionOffset, TopicPartition } from '../driver/driver.js';
import { sanitizeError } from '../errors.js';
import type { GroupNames } from '../topology.js';
import { PartitionState, type PartitionRole } from './partition.js';

/** Reading committed metadata blocks the first batch of a partition (and so the fetch loop): not for long. */
const INHERIT_TIMEOUT_MS = 5_000;

export interface MembershipDeps {
  readonly driver: KafkaDriver;
  readonly names: GroupNames;
  readonly logger: Logger;
  readonly secrets: readonly string[];
  /** The subscription's group callbacks: only the current member's reach them. */
  readonly events: MemberHandlers;
}

/**
 * Where the group member stands:
 * - `joining`: before the first assignment;
 * - `assigned`: holding an assignment (offsets may be committed, deliveries handed over);
 * - `rebalancing`: from a revocation or a crash until the next assignment.
 */
export type MembershipState = 'joining' | 'assigned' | 'rebalancing';

/** The member in use; `failed`: it reported a crash it does not recover from. */
interface CurrentMember {
  readonly client: GroupMember;
  failed: boolean;
}

/**
 * The subscription's place in the consumer group: the member (replaced when it fails for
 * good), its state, and the partitions it holds. Revoked partitions are dropped, and their
 * in-flight deliveries become no-ops (PartitionState.revoked).
 */
export class Membership {
  private current: CurrentMember | undefined;
  /** Numbers the members created: callbacks of a replaced member are ignored. */
  private generation = 0;
  private memberId: string | undefined;
  private state: MembershipState = 'joining';
  /** Counts assignments; 0 before the first. */
  private assignments = 0;
  private readonly byId = new Map<string, PartitionState>();
  private ordered: PartitionState[] = [];
  private readonly roles: ReadonlyMap<string, PartitionRole>;

  constructor(private readonly deps: MembershipDeps) {
    const { names } = deps;
    this.roles = new Map<string, PartitionRole>([
      [names.main, 'main'],
      [names.delay, 'delay'],
      [names.retry, 'retry'],
    ]);
  }

  /** Number of the current assignment (logged with each commit, so tests can match them). */
  get epoch(): number {
    return this.assignments;
  }

  /** Holding an assignment: offsets may be committed and deliveries handed over. */
  get assigned(): boolean {
    return this.state === 'assigned';
  }

  /** The current member failed for good (it will not rejoin by itself). */
  get failed(): boolean {
    return this.current?.failed ?? false;
  }

  /** The held partitions, in assignment order. */
  get order(): readonly PartitionState[] {
    return this.ordered;
  }

  partitions(): IterableIterator<PartitionState> {
    return this.byId.values();
  }

  /**
   * A fresh member whose callbacks reach the subscription only while it is the
   * current one: a replaced member may still report a late crash or batch.
   */
  join(): GroupMember {
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    const { events, names } = this.deps;
    const handlers: MemberHandlers = {
      onBatch: (batch) => (current() ? events.onBatch(batch) : Promise.resolve()),
      onRevoking: () => {
        if (current()) events.onRevoking();
      },
      onAssigned: (assignment) => {
        if (current()) events.onAssigned(assignment);
      },
      onCrash: (error, restarting) => {
        if (current()) events.onCrash(error, restarting);
      },
    };
    const client = this.deps.driver.member({ groupId: names.groupId, topics: [names.main, names.delay, names.retry], handlers });
    this.current = { client, failed: false };
    return client;
  }

  // ---- transitions ----

  /** → assigned: take `assignment`, keeping the partitions held before and dropping the others. */
  assign(assignment: Assignment, paused: boolean): void {
    const member = (this.current as CurrentMember).client;
    if (assignment.memberId !== this.memberId) {
      // A new membership: whatever we held may have been processed by others since.
      if (this.memberId !== undefined) this.revokeAll();
      this.memberId = assignment.memberId;
    }
    const assigned = new Set(assignment.partitions.map(({ topic, partition }) => `${topic}:${partition}`));
    for (const state of [...this.byId.values()]) if (!assigned.has(state.id)) this.revoke(state);
    const fresh: PartitionState[] = [];
    for (const tp of assignment.partitions) {
      const existing = this.byId.get(`${tp.topic}:${tp.partition}`);
      if (existing) {
        // Kept across the rebalance: kafkajs fetches again from the committed offset, and onBatch
        // drops what the buffer already holds (seen()). No seek: kafkajs keeps a seek that no fetch
        // applied before the next rebalance, and would apply it when the partition comes back,
        // skipping what another owner had not processed.
        if (existing.paused || paused) member.pause([tp]);
        else member.resume([tp]);
        continue;
      }
      const state = this.add(tp.topic, tp.partition);
      fresh.push(state);
      // kafkajs remembers pauses across assignments: clear any left from an earlier one.
      if (paused) member.pause([tp]);
      else member.resume([tp]);
    }
    if (fresh.length) {
      const loading = this.inherit(fresh);
      for (const state of fresh) state.ready = loading;
    }
    this.ordered = [...this.byId.values()];
    this.state = 'assigned';
    this.assignments += 1;
    this.deps.logger.debug({ groupId: this.deps.names.groupId, memberId: assignment.memberId, epoch: this.assignments, partitions: this.ordered.map((p) => p.id) }, 'kafka: partitions assigned');
  }

  /** → rebalancing: the group takes the partitions back (the caller committed first). */
  revoking(): void {
    this.state = 'rebalancing';
  }

  /** → rebalancing, holding nothing: the member crashed (and will not restart by itself unless `restarting`). */
  crashed(restarting: boolean): void {
    this.revokeAll();
    this.state = 'rebalancing';
    if (!restarting && this.current) this.current.failed = true;
  }

  /** The partition a batch came from; one no assignment announced (should not happen) is adopted as fresh. */
  partitionOf(topic: string, partition: number): PartitionState {
    const known = this.byId.get(`${topic}:${partition}`);
    if (known) return known;
    const state = this.add(topic, partition);
    this.ordered = [...this.byId.values()];
    state.ready = this.inherit([state]);
    return state;
  }

  /** Drop every partition (the subscription closed). */
  clear(): void {
    for (const state of this.byId.values()) state.clear();
    this.byId.clear();
    this.ordered = [];
  }

  // ---- the member ----

  pause(partitions: readonly TopicPartition[]): void {
    this.current?.client.pause(partitions);
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.current?.client.resume(partitions);
  }

  commit(offsets: readonly PartitionOffset[]): Promise<void> {
    return (this.current as CurrentMember).client.commit(offsets);
  }

  /** Leave the group with the current member, if any. */
  stop(): Promise<void> {
    return this.current?.client.stop() ?? Promise.resolve();
  }

  private add(topic: string, partition: number): PartitionState {
    const state = new PartitionState(topic, partition, this.roles.get(topic) ?? 'main');
    this.byId.set(state.id, state);
    return state;
  }

  private revoke(state: PartitionState): void {
    state.revoked = true;
    state.clear();
    this.byId.delete(state.id);
  }

  private revokeAll(): void {
    for (const state of [...this.byId.values()]) this.revoke(state);
    this.ordered = [];
  }

  /** Read the committed offsets and metadata of freshly assigned partitions. */
  private async inherit(states: readonly PartitionState[]): Promise<void> {
    const { driver, names, logger, secrets } = this.deps;
    try {
      const topics = [...new Set(states.map((s) => s.topic))];
      const committed = await withTimeout(driver.committedOffsets(names.groupId, topics), INHERIT_TIMEOUT_MS, () => new Error('timed out'));
      const byId = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c]));
      for (const state of states) {
        const found = byId.get(state.id);
        if (found) state.inherit(BigInt(found.offset), found.metadata);
      }
    } catch (error) {
      // Only the attempt count of redelivered messages suffers.
      logger.debug({ groupId: names.groupId, err: sanitizeError(error, secrets) }, 'kafka: reading committed metadata failed');
    }
  }
}
