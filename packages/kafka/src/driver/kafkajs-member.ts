import { withTimeout } from '@omnibus/core';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { retrying } from '../errors.js';
import { EMPTY, copyOf } from './record-copy.js';
import type { Assignment, ConnectionObserver, FetchedRecord, GroupMember, MemberSettings, PartitionOffset, TopicPartition } from './driver.js';

export interface MemberTimings {
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly maxWaitTimeMs: number;
  readonly retries: number;
  readonly retryInitialDelayMs: number;
}

/**
 * A consumer-group member on kafkajs.
 *
 * kafkajs heartbeats only from its fetch loop, so `eachBatch` must return quickly:
 * it only hands the records to the transport's buffer (which pauses the partition
 * when full). Handlers run outside the loop, so a slow handler never costs the
 * membership. Auto-commit and auto-resolve are off: the transport commits exactly
 * what was settled, and resolving the batch only moves the fetch position. A member
 * that crashed is not restarted: its owner replaces it.
 */
export class KafkajsMember implements GroupMember {
  private readonly consumer: Consumer;
  private started = false;
  private stopping: Promise<void> | undefined;
  /** kafkajs silently skips commits while its runner is down (crash, restart): track it. */
  private joined = false;
  /** Fails a start() still waiting for its first assignment (stop() called meanwhile). */
  private abortStart: ((error: Error) => void) | undefined;
  /** connect + subscribe + run: stop() waits for it, as kafkajs cannot stop a runner that is still starting. */
  private launching: Promise<void> | undefined;

  constructor(
    kafka: Kafka,
    private readonly settings: MemberSettings,
    timings: MemberTimings,
    private readonly connection: ConnectionObserver,
  ) {
    this.consumer = kafka.consumer({
      groupId: settings.groupId,
      sessionTimeout: timings.sessionTimeoutMs,
      rebalanceTimeout: timings.rebalanceTimeoutMs,
      heartbeatInterval: timings.heartbeatIntervalMs,
      maxWaitTimeInMs: timings.maxWaitTimeMs,
      allowAutoTopicCreation: false,
      retry: {
        retries: timings.retries,
        initialRetryTime: timings.retryInitialDelayMs,
        maxRetryTime: Math.max(1_000, timings.retryInitialDelayMs * 10),
        // kafkajs restarts a crashed consumer itself only after some errors, at a fixed delay, and
        // gives up for good after others ("Failed to find group coordinator" while the broker is
        // unreachable). One path for all: it never restarts, the subscription replaces the member
        // with backoff (onCrash reports restarting = false).
        restartOnFailure: () => Promise.resolve(false),
      },
    });
  }

  async start(timeoutMs: number): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { handlers } = this.settings;
    const { GROUP_JOIN, REBALANCING, CRASH, REQUEST_TIMEOUT } = this.consumer.events;
    this.consumer.on(REQUEST_TIMEOUT, () => this.connection.lost(new Error(`a request of the consumer of group "${this.settings.groupId}" got no answer in time`)));
    let firstJoin!: () => void;
    let failed!: (error: Error) => void;
    const joined = new Promise<void>((resolve, reject) => {
      firstJoin = resolve;
      failed = reject;
    });
    joined.catch(() => {});
    this.abortStart = failed;

    this.consumer.on(GROUP_JOIN, ({ payload }) => {
      this.joined = true;
      const partitions: TopicPartition[] = [];
      for (const [topic, numbers] of Object.entries(payload.memberAssignment)) for (const partition of numbers) partitions.push({ topic, partition });
      const assignment: Assignment = { memberId: payload.memberId, partitions };
      handlers.onAssigned(assignment);
      firstJoin();
    });
    this.consumer.on(REBALANCING, () => {
      handlers.onRevoking();
    });
    this.consumer.on(CRASH, ({ payload }) => {
      this.joined = false;
      if (this.stopping) return;
      this.connection.failed(payload.error);
      handlers.onCrash(payload.error, payload.restart);
      if (!payload.restart) failed(payload.error);
    });

    const stopped = () => new Error('the member was stopped before it joined');
    this.launching = (async () => {
      await this.consumer.connect();
      if (this.stopping) throw stopped();
      // A topic created a moment ago may not be in the broker's metadata yet (UNKNOWN_TOPIC_OR_PARTITION,
      // retriable): seen once in the contract run under load, on a dead-letter topic's new retry topic.
      await retrying(() => this.consumer.subscribe({ topics: [...this.settings.topics], fromBeginning: true }));
      if (this.stopping) throw stopped();
      // Resolves after the first join (or a crash), with the fetch loop running.
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => this.eachBatch(payload),
      });
    })();
    await this.launching;

    try {
      await withTimeout(joined, timeoutMs, () => new Error(`no partition assignment within ${timeoutMs} ms`));
    } finally {
      this.abortStart = undefined;
    }
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const records = batch.messages.map(toRecord);
    const last = batch.lastOffset();
    await this.settings.handlers.onBatch({ topic: batch.topic, partition: batch.partition, records, nextOffset: (BigInt(last) + 1n).toString() });
    payload.resolveOffset(last);
  }

  // pause/resume throw only when kafkajs has no running group (before run, after a
  // crash); there is nothing to pause then, and the next assignment sets the state again.
  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length) quietly(() => this.consumer.pause(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] }))));
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length) quietly(() => this.consumer.resume(partitions.map(({ topic, partition }) => ({ topic, partitions: [partition] }))));
  }

  async commit(offsets: readonly PartitionOffset[]): Promise<void> {
    if (!this.joined || this.stopping) throw Object.assign(new Error('the member is not in the group'), { type: 'UNKNOWN_MEMBER_ID' });
    await this.consumer.commitOffsets(offsets.map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata })));
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.joined = false;
      this.abortStart?.(new Error('the member was stopped before it joined'));
      await this.launching?.catch(() => {});
      // disconnect() stops the fetch loop, leaves the group and closes the connections.
      await this.consumer.disconnect();
    })();
    return this.stopping;
  }
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // See above.
  }
}

function toRecord(message: KafkaMessage): FetchedRecord {
  const headers: Record<string, string> = {};
  const source = message.headers;
  if (source) {
    for (const name in source) {
      const value = source[name];
      // A foreign producer may repeat a header: the last one wins.
      const last = Array.isArray(value) ? value[value.length - 1] : value;
      if (last !== undefined) headers[name] = typeof last === 'string' ? last : last.toString('utf8');
    }
  }
  return {
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value === null ? EMPTY : copyOf(message.value),
    headers,
  };
}
