import { backoffDelay, thrownMessage, type Backoff, type Logger } from '@omnibus/core';
import type { Pool, PoolClient } from 'pg';

type ListenerState = { readonly kind: 'idle' } | { readonly kind: 'listening'; readonly client: PoolClient } | { readonly kind: 'reconnecting'; readonly timer: NodeJS.Timeout } | { readonly kind: 'closed' };

const RECONNECT: Backoff = { type: 'exponential', initialDelayMs: 200, maxDelayMs: 10_000, factor: 2, jitter: true };

/**
 * One pooled connection held for LISTEN on the outbox channel; each notification calls
 * `onNotify`. A lost connection is replaced with backoff (the relay keeps polling meanwhile), and
 * `onNotify` is called once it is back, since notifications sent in between are lost.
 */
export class NotificationListener {
  private state: ListenerState = { kind: 'idle' };
  private failures = 0;
  private readonly released = new WeakSet<PoolClient>();

  constructor(
    private readonly pool: Pick<Pool, 'connect'>,
    private readonly channel: string,
    private readonly onNotify: () => void,
    private readonly logger: Logger,
    private readonly redact: (text: string) => string,
  ) {}

  /** Resolves once listening (or once the first attempt failed: retries go on in the background). */
  async start(): Promise<void> {
    if (this.state.kind !== 'idle') return;
    await this.connect();
  }

  close(): void {
    const state = this.state;
    this.state = { kind: 'closed' };
    if (state.kind === 'reconnecting') clearTimeout(state.timer);
    // Destroyed, not returned to the pool: our 'notification' and 'error' handlers stay on the
    // client, and whoever got it next from the pool would run them.
    if (state.kind === 'listening' && !this.released.has(state.client)) {
      this.released.add(state.client);
      state.client.release(true);
    }
  }

  private async connect(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const held = client;
      held.on('notification', (message) => {
        if (message.channel === this.channel) this.onNotify();
      });
      held.on('error', (error) => this.lost(held, error));
      await held.query(`LISTEN ${quoteChannel(this.channel)}`);
      if (this.state.kind === 'closed') {
        this.released.add(held);
        held.release(true);
        return;
      }
      this.state = { kind: 'listening', client: held };
      if (this.failures > 0) this.onNotify(); // what was notified while we were away
      this.failures = 0;
    } catch (error) {
      if (client) this.lost(client, error);
      else this.retry(error);
    }
  }

  private lost(client: PoolClient, error: unknown): void {
    // pg may report one broken connection more than once; it goes back to the pool once.
    if (this.released.has(client)) return;
    this.released.add(client);
    client.release(error instanceof Error ? error : new Error(thrownMessage(error)));
    this.retry(error);
  }

  private retry(error: unknown): void {
    if (this.state.kind === 'closed' || this.state.kind === 'reconnecting') return;
    this.failures += 1;
    const delayMs = backoffDelay(RECONNECT, this.failures);
    this.logger.warn({ channel: this.channel, err: this.redact(thrownMessage(error)), retryInMs: delayMs }, 'omnibus outbox relay: LISTEN connection lost; polling until it is back');
    const timer = setTimeout(() => {
      if (this.state.kind !== 'reconnecting') return;
      this.state = { kind: 'idle' };
      void this.connect();
    }, delayMs);
    timer.unref();
    this.state = { kind: 'reconnecting', timer };
  }
}

/** LISTEN takes an identifier: the channel quoted (it may hold a dot: `schema.table`). */
const quoteChannel = (channel: string): string => `"${channel.replace(/"/g, '""')}"`;
