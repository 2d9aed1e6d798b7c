import { backoffDelay, exponentialBackoff } from '@omnibus/core';
import { ListOffsetTimestamps, type Consumer, type fetchV17 } from '@platformatic/kafka';

type FetchResponse = fetchV17.FetchResponse;
import type { FetchedBatch, TopicPartition } from './driver.js';
import { protocolErrorName } from './platformatic-errors.js';
import { decodePartition } from './platformatic-records.js';

/**
 * Where one assigned partition is:
 * - `locating`: its fetch position (committed offset, else the earliest) is being read;
 * - `idle`: it may be fetched (unless paused);
 * - `fetching`: in a fetch request on its way;
 * - `delivering`: its records are with the transport (onBatch), not fetched again until that settles.
 */
type SlotPhase = 'locating' | 'idle' | 'fetching' | 'delivering';

interface Slot extends TopicPartition {
  readonly id: string;
  phase: SlotPhase;
  /** The next offset to fetch (undefined while locating). */
  position: bigint | undefined;
}

export interface FetcherSettings {
  /** Its fetches go on connections of their own (the consumer's fetch pool): a long poll does not hold up heartbeats and commits. */
  readonly consumer: Consumer;
  readonly maxWaitTimeMs: number;
  readonly retryInitialDelayMs: number;
  readonly onBatch: (batch: FetchedBatch) => Promise<void>;
  /** A fetch (or locating positions) failed; it is tried again with backoff. */
  readonly onError: (error: unknown) => void;
}

/** The fetch wait while some partition of the leader is left out of the request (see sendFetches). */
const SHORT_POLL_MS = 10;
const MAX_BYTES = 10 * 1_048_576;
const MAX_BYTES_PER_PARTITION = 1_048_576;
const id = (topic: string, partition: number): string => `${topic}:${partition}`;

/**
 * The fetch loop of a group member on @platformatic/kafka, per partition: the client's own
 * MessagesStream pauses only as a whole and has no per-batch hand-over, which the transport
 * needs (a full partition buffer pauses that partition alone; a partition is fetched again
 * only after its previous batch was taken). One fetch request per partition leader at a time,
 * long-polling up to maxWaitTimeMs. Every assignment starts from the committed offsets, so a
 * partition kept across a rebalance refetches what the transport's buffer already holds
 * (it drops those: PartitionState.seen).
 */
export class Fetcher {
  private slots = new Map<string, Slot>();
  private readonly paused = new Set<string>();
  /** Leaders with a fetch request on its way. */
  private readonly inflight = new Set<number>();
  /** Bumped by every assignment and by stop(): answers to an older one are dropped. */
  private epoch = 0;
  private stopped = false;
  private pumping = false;
  private pumpAgain = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly backoff;

  constructor(private readonly settings: FetcherSettings) {
    this.backoff = exponentialBackoff(settings.retryInitialDelayMs, Math.max(1_000, settings.retryInitialDelayMs * 10));
  }

  /** Fetch these partitions (and only these) from their committed offsets on. */
  assign(partitions: readonly TopicPartition[]): void {
    if (this.stopped) return;
    this.epoch += 1;
    this.slots = new Map(partitions.map(({ topic, partition }) => [id(topic, partition), { id: id(topic, partition), topic, partition, phase: 'locating', position: undefined }]));
    void this.locate(this.epoch, [...this.slots.values()]);
  }

  /** Fetch nothing until the next assignment (a rebalance is under way). */
  suspend(): void {
    this.epoch += 1;
    this.slots = new Map();
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.paused.add(id(topic, partition));
  }

  resume(partitions: readonly TopicPartition[]): void {
    let resumed = false;
    for (const { topic, partition } of partitions) resumed = this.paused.delete(id(topic, partition)) || resumed;
    if (resumed) this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.suspend();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Read the fetch positions of `slots`: the group's committed offsets, else the earliest kept (the transport reads a new group from its start). */
  private async locate(epoch: number, slots: readonly Slot[]): Promise<void> {
    if (slots.length === 0) return;
    const { consumer } = this.settings;
    const byTopic = new Map<string, number[]>();
    for (const slot of slots) {
      let partitions = byTopic.get(slot.topic);
      if (!partitions) byTopic.set(slot.topic, (partitions = []));
      partitions.push(slot.partition);
    }
    try {
      const committed = await consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
      const missing = slots.filter((slot) => (committed.get(slot.topic)?.[slot.partition] ?? -1n) < 0n);
      const earliest = missing.length
        ? await consumer.listOffsets({ topics: [...new Set(missing.map((s) => s.topic))], partitions: Object.fromEntries([...new Set(missing.map((s) => s.topic))].map((t) => [t, missing.filter((s) => s.topic === t).map((s) => s.partition)])), timestamp: ListOffsetTimestamps.EARLIEST })
        : new Map<string, bigint[]>();
      if (epoch !== this.epoch) return;
      for (const slot of slots) {
        const offset = committed.get(slot.topic)?.[slot.partition] ?? -1n;
        slot.position = offset >= 0n ? offset : (earliest.get(slot.topic)?.[slot.partition] ?? 0n);
        slot.phase = 'idle';
      }
      this.failures = 0;
      this.pump();
    } catch (error) {
      if (epoch !== this.epoch) return;
      this.settings.onError(error);
      this.later(() => void this.locate(epoch, slots));
    }
  }

  /** Send a fetch to every leader that has fetchable partitions and no request on its way. */
  private pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.sendFetches().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async sendFetches(): Promise<void> {
    const candidates = [...this.slots.values()].filter((slot) => slot.phase === 'idle' && !this.paused.has(slot.id));
    if (candidates.length === 0) return;
    const { consumer } = this.settings;
    const epoch = this.epoch;
    let metadata;
    try {
      metadata = await consumer.metadata({ topics: [...new Set([...this.slots.values()].map((slot) => slot.topic))] });
    } catch (error) {
      this.settings.onError(error);
      this.later(() => this.pump());
      return;
    }
    if (epoch !== this.epoch) return;
    const byLeader = new Map<number, Slot[]>();
    /** Leaders with partitions left out of this round (paused, or still being handed over). */
    const leftOut = new Set<number>();
    // Read again after the metadata: partitions may have become fetchable meanwhile.
    for (const slot of this.slots.values()) {
      const leader = metadata.topics.get(slot.topic)?.partitions[slot.partition]?.leader;
      if (leader !== undefined && leader >= 0 && (slot.phase !== 'idle' || this.paused.has(slot.id))) leftOut.add(leader);
      if (leader === undefined || leader < 0 || this.inflight.has(leader) || slot.phase !== 'idle' || this.paused.has(slot.id)) continue;
      let slots = byLeader.get(leader);
      if (!slots) byLeader.set(leader, (slots = []));
      slots.push(slot);
    }
    for (const [leader, slots] of byLeader) {
      const topicIds = new Map<string, string>();
      const requests = new Map<string, { topicId: string; partitions: { partition: number; fetchOffset: bigint; currentLeaderEpoch: number; lastFetchedEpoch: number; partitionMaxBytes: number }[] }>();
      for (const slot of slots) {
        const topicId = metadata.topics.get(slot.topic)?.id as string;
        topicIds.set(topicId, slot.topic);
        let request = requests.get(topicId);
        if (!request) requests.set(topicId, (request = { topicId, partitions: [] }));
        request.partitions.push({ partition: slot.partition, fetchOffset: slot.position as bigint, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: MAX_BYTES_PER_PARTITION });
        slot.phase = 'fetching';
      }
      this.inflight.add(leader);
      const requested = new Map(slots.map((slot) => [slot.id, slot.position as bigint]));
      consumer
        // A long poll only when it asks for every partition of the leader: a partition left out (its
        // buffer full, or its batch still being handed over) would wait for the poll to end before it
        // could be fetched again, a whole maxWaitTime per round while the others have nothing new
        // (measured: 5,200 msg/s on a backlog instead of tens of thousands).
        .fetch({ node: leader, topics: [...requests.values()], maxWaitTime: leftOut.has(leader) ? Math.min(SHORT_POLL_MS, this.settings.maxWaitTimeMs) : this.settings.maxWaitTimeMs, maxBytes: MAX_BYTES })
        .then(
          (response) => {
            this.failures = 0;
            // The next fetch from this leader waits for the batches just handed over (the transport takes
            // them at once; a full buffer pauses its partition instead of holding the promise), so that
            // it asks for their partitions too: otherwise they would wait for the next long poll to end.
            return Promise.allSettled(this.received(epoch, response, topicIds, requested));
          },
          (error: unknown) => this.failed(epoch, slots, error),
        )
        .finally(() => {
          this.inflight.delete(leader);
          // Partitions of the request whose records were not handed over may be fetched again.
          for (const slot of slots) if (slot.phase === 'fetching') slot.phase = 'idle';
          this.pump();
        });
    }
  }

  /** Hand over the records of the answer; resolves with the hand-overs (see sendFetches). */
  private received(epoch: number, response: FetchResponse, topicIds: ReadonlyMap<string, string>, requested: ReadonlyMap<string, bigint>): Promise<void>[] {
    const deliveries: Promise<void>[] = [];
    if (epoch !== this.epoch) return deliveries;
    for (const { topicId, partitions } of response.responses) {
      const topic = topicIds.get(topicId);
      if (topic === undefined) continue;
      for (const { partitionIndex: partition, records } of partitions) {
        const slot = this.slots.get(id(topic, partition));
        const from = requested.get(id(topic, partition));
        // Paused meanwhile: dropped, fetched again from the same position after resume.
        if (!slot || from === undefined || slot.phase !== 'fetching' || slot.position !== from || this.paused.has(slot.id) || !records?.length) continue;
        const decoded = decodePartition(records, from);
        if (decoded.nextOffset <= from) continue;
        deliveries.push(this.deliver(epoch, slot, { topic, partition, records: decoded.records, nextOffset: decoded.nextOffset.toString() }, decoded.nextOffset));
      }
    }
    return deliveries;
  }

  private deliver(epoch: number, slot: Slot, batch: FetchedBatch, nextOffset: bigint): Promise<void> {
    slot.phase = 'delivering';
    const settled = () => {
      if (epoch !== this.epoch || this.slots.get(slot.id) !== slot) return;
      slot.position = nextOffset;
      slot.phase = 'idle';
      this.pump();
    };
    // onBatch must not throw (MemberHandlers); a rejection still frees the partition.
    return this.settings.onBatch(batch).then(settled, settled);
  }

  private failed(epoch: number, slots: readonly Slot[], error: unknown): void {
    if (epoch !== this.epoch || this.stopped) return;
    // A leader may have moved: read the metadata again before the next try.
    this.settings.consumer.clearMetadata();
    if (protocolErrorName(error) === 'OFFSET_OUT_OF_RANGE') {
      // The position is gone (retention, a recreated topic): start again from what the group committed, else the earliest.
      for (const slot of slots) slot.phase = 'locating';
      void this.locate(epoch, slots);
      return;
    }
    this.settings.onError(error);
    for (const slot of slots) slot.phase = 'locating';
    this.later(() => {
      for (const slot of slots) if (slot.phase === 'locating') slot.phase = 'idle';
      this.pump();
    });
  }

  /** Run `retry` after a backoff that grows with consecutive failures. */
  private later(retry: () => void): void {
    if (this.stopped) return;
    this.failures += 1;
    const timer = setTimeout(() => {
      if (this.retryTimer === timer) this.retryTimer = undefined;
      if (!this.stopped) retry();
    }, backoffDelay(this.backoff, this.failures));
    this.retryTimer = timer;
  }
}
