import { backoffDelay, exponentialBackoff, type TransportHealth } from '@omnibus/core';
import type { ConnectionObserver } from './driver/driver.js';

/** Re-dialling a lost cluster: at once, then after 250 ms, doubling up to 5 s. */
const REDIAL_BACKOFF = exponentialBackoff(250, 5_000);

type State = TransportHealth['state'];

/** The transitions, as a table: what each event does in each state (undefined: nothing). */
const NEXT: Readonly<Record<State, Partial<Record<'opened' | 'alive' | 'lost', State>>>> = {
  // Until connect() succeeded once; a failed first connect stays here (with lastError).
  connecting: { opened: 'connected' },
  connected: { lost: 'reconnecting' },
  // Any bytes from a broker since the loss: the cluster answers again.
  reconnecting: { alive: 'connected', opened: 'connected' },
  closed: {},
};

export interface ConnectionHealthDeps {
  /** A scrubbed, one-line description of an error (no credentials). */
  readonly describe: (error: unknown) => string;
  /** One round trip to the cluster, so that an idle transport re-dials and notices the recovery. */
  readonly redial: () => Promise<void>;
}

/**
 * The transport's connection state, from the client's own events (see README "Health"), read
 * synchronously. kafkajs reconnects only when a request needs a connection, so while
 * `reconnecting` this also re-dials (a metadata request, with backoff): a transport with no
 * subscription and no publish still becomes `connected` again once the cluster answers.
 */
export class ConnectionHealth implements ConnectionObserver {
  private current: { readonly state: State; readonly since: Date } = { state: 'connecting', since: new Date() };
  private lastError: TransportHealth['lastError'];
  private redialTimer: NodeJS.Timeout | undefined;
  private redialing = false;

  constructor(private readonly deps: ConnectionHealthDeps) {}

  health(): TransportHealth {
    return { ...this.current, lastError: this.lastError };
  }

  /** connect() succeeded. */
  opened(): void {
    this.move('opened');
  }

  alive(): void {
    // Runs for every chunk read: a string compare when nothing changes.
    if (this.current.state === 'reconnecting') this.move('alive');
  }

  lost(error: Error): void {
    this.failed(error);
    this.move('lost');
    if (this.current.state === 'reconnecting') this.scheduleRedial(0);
  }

  failed(error: unknown): void {
    if (this.current.state === 'closed') return;
    this.lastError = { message: this.deps.describe(error), at: new Date() };
  }

  close(): void {
    if (this.redialTimer) clearTimeout(this.redialTimer);
    this.redialTimer = undefined;
    if (this.current.state !== 'closed') this.current = { state: 'closed', since: new Date() };
  }

  private move(event: 'opened' | 'alive' | 'lost'): void {
    const next = NEXT[this.current.state][event];
    if (next !== undefined && next !== this.current.state) this.current = { state: next, since: new Date() };
  }

  /** `failures`: redials that failed since the loss (0: the first one, at once). */
  private scheduleRedial(failures: number): void {
    if (this.redialing || this.redialTimer) return;
    this.redialTimer = setTimeout(
      () => {
        this.redialTimer = undefined;
        void this.redial(failures);
      },
      failures === 0 ? 0 : backoffDelay(REDIAL_BACKOFF, failures),
    );
    this.redialTimer.unref();
  }

  private async redial(failures: number): Promise<void> {
    if (this.current.state !== 'reconnecting') return;
    this.redialing = true;
    try {
      await this.deps.redial();
    } catch (error) {
      this.failed(error);
    } finally {
      this.redialing = false;
    }
    if (this.current.state === 'reconnecting') this.scheduleRedial(failures + 1);
  }
}
