import { backoffDelay, exponentialBackoff, pause, type Logger } from '@omnibus/core';
import type { Membership } from './membership.js';

/** Backoff between attempts to replace a member that failed for good (kafkajs gave up on it). */
const REJOIN_BACKOFF = exponentialBackoff(250, 30_000);

export interface RejoinDeps {
  readonly membership: Membership;
  readonly groupId: string;
  readonly joinTimeoutMs: number;
  readonly logger: Logger;
  /** close() was called: no further attempt. */
  shuttingDown(): boolean;
  report(what: string, error: unknown): void;
}

/**
 * Replaces a member that will not restart by itself (kafkajs gives up for good on
 * errors it deems non-retriable, e.g. no group coordinator found while the broker
 * is unreachable): a subscription never stops consuming because of a broker outage.
 * Joins a new member with backoff until one gets an assignment or the subscription closes.
 */
export class Rejoin {
  private running: Promise<void> | undefined;
  /** Aborted on close: cuts short the wait before the next attempt. */
  private readonly cancelled = new AbortController();

  constructor(private readonly deps: RejoinDeps) {}

  /** A replacement is under way (its member's failures are reported by it, once per attempt). */
  get underway(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    this.running ??= this.run();
  }

  /** No further attempt (the one under way ends with the member the subscription stops). */
  cancel(): void {
    this.cancelled.abort();
  }

  /** Resolves once no replacement is under way. */
  ended(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async run(): Promise<void> {
    const { membership, groupId, joinTimeoutMs, logger } = this.deps;
    try {
      for (let attempt = 1; !this.deps.shuttingDown(); attempt += 1) {
        await membership.stop().catch(() => {});
        await pause(backoffDelay(REJOIN_BACKOFF, attempt), this.cancelled.signal);
        if (this.deps.shuttingDown()) return;
        const member = membership.join();
        try {
          await member.start(joinTimeoutMs);
          // It may have failed already, between joining and this line (onCrash left it to us).
          if (membership.failed) throw new Error('the new member failed right after joining');
          logger.info({ groupId }, 'kafka: a new member joined in place of the failed one');
          return;
        } catch (error) {
          if (this.deps.shuttingDown()) return;
          this.deps.report(`replacing the failed consumer of group "${groupId}" failed; trying again in ${backoffDelay(REJOIN_BACKOFF, attempt + 1)} ms`, error);
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
