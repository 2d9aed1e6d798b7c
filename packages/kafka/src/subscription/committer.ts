import type { Logger } from '@omnibus/core';
import type { PartitionOffset } from '../driver/driver.js';
import { isRebalanceError } from '../errors.js';
import type { PartitionState } from './partition.js';

export interface CommitterDeps {
  readonly groupId: string;
  readonly intervalMs: number;
  /** The partitions whose progress may be committed now (assigned, not revoked). */
  partitions(): Iterable<PartitionState>;
  /** False while a rebalance is under way: nothing is committed until the new assignment. */
  canCommit(): boolean;
  /** Number of the current assignment (logged with each commit, so tests can match them). */
  epoch(): number;
  commit(offsets: readonly PartitionOffset[]): Promise<void>;
  onError(error: unknown): void;
  readonly logger: Logger;
}

/**
 * Commits settled progress: at most one commit request in flight, later changes
 * coalesced into the next one, `intervalMs` after the first change. A commit that
 * fails because the group rebalanced is not an error: what is still assigned after
 * the rebalance is committed then, what was revoked is the new owner's.
 */
export class Committer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;

  constructor(private readonly deps: CommitterDeps) {}

  /** Something changed: commit soon. */
  schedule(): void {
    if (this.stopped) return;
    if (this.timer || this.running) {
      this.dirty = true;
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.deps.intervalMs);
  }

  /** Commit what is pending now; resolves when that commit (and any one already running) finished. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running) {
      this.dirty = true;
      await this.running;
      // The commit that just ended cleared the field; TypeScript keeps its narrowing across the await.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      if (!this.running) return this.flush();
      return this.running;
    }
    this.dirty = false;
    if (!this.deps.canCommit()) return;
    const batch: { partition: PartitionState; offset: bigint; metadata: string | null }[] = [];
    for (const partition of this.deps.partitions()) {
      if (partition.revoked) continue;
      const offset = partition.watermark();
      if (offset === undefined) continue;
      const metadata = partition.metadataFor(offset);
      if (offset !== partition.committedOffset || metadata !== partition.committedMetadata) batch.push({ partition, offset, metadata });
    }
    if (batch.length === 0) return;
    const offsets = batch.map(({ partition, offset, metadata }) => ({ topic: partition.topic, partition: partition.partition, offset: offset.toString(), metadata }));
    const epoch = this.deps.epoch();
    this.running = this.deps
      .commit(offsets)
      .then(
        () => {
          for (const { partition, offset, metadata } of batch) {
            partition.committedOffset = offset;
            partition.committedMetadata = metadata;
          }
          this.deps.logger.debug({ groupId: this.deps.groupId, epoch, offsets }, 'kafka: offsets committed');
        },
        (error: unknown) => {
          if (isRebalanceError(error)) this.deps.logger.debug({ groupId: this.deps.groupId, err: error }, 'kafka: commit refused during a rebalance');
          else this.deps.onError(error);
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.dirty) {
          this.dirty = false;
          this.schedule();
        }
      });
    return this.running;
  }

  /** No more scheduled commits (explicit flush() still works). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
