import { withTimeout } from '@omnibus/core';

/** The steps of closing a subscription, in the order they run. */
export interface ShutdownSteps {
  readonly groupId: string;
  /** Upper bound on the whole sequence. */
  readonly closeTimeoutMs: number;
  /** Nacks being written to the retry topic: they finish first, so their offsets count as done. */
  retryWrites(): Promise<unknown>;
  /** From here on, unsettled deliveries are released: a later ack/nack does nothing. */
  markClosed(): void;
  finalCommit(): Promise<void>;
  leaveGroup(): Promise<void>;
  /** A member replacement under way ends (it was cancelled, its member stopped with leaveGroup). */
  rejoinEnded(): Promise<void>;
  report(what: string, error: unknown): void;
}

/**
 * Close within `closeTimeoutMs`: half of what is left for the retry writes, half of what is
 * then left for the final commit, the rest for leaving the group. A step that runs out of time
 * is given up (a commit or leave that fails is reported), and the next one starts.
 */
export async function shutdown(steps: ShutdownSteps): Promise<void> {
  const deadline = Date.now() + steps.closeTimeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  const expired = () => new Error('close timeout');
  await withTimeout(steps.retryWrites(), left() / 2, expired).catch(() => {});
  steps.markClosed();
  await withTimeout(steps.finalCommit(), left() / 2, expired).catch((error: unknown) => steps.report(`the final commit of group "${steps.groupId}" failed`, error));
  await withTimeout(steps.leaveGroup(), left(), expired).catch((error: unknown) => steps.report(`leaving group "${steps.groupId}" failed`, error));
  await withTimeout(steps.rejoinEnded(), left(), expired).catch(() => {});
}
