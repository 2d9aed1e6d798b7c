import type { TransportHealth } from '@omnibus/core';
import type { Redis } from 'ioredis';

/** Where the transport's connections are, as a whole. */
type Phase =
  /** Before the command connection was ready once (connect() not called, dialling, or failed). */
  | 'connecting'
  /** Connected once: the watched connections say whether it is connected or reconnecting now. */
  | 'open'
  | 'closed';

/**
 * The transport's connection state from ioredis' own events, with no round trip: the command
 * connection and each subscription's blocking connection are watched; the transport is
 * `reconnecting` while any of them is not ready (since the first of them went down), and
 * `connected` when all are. A connection a peer or the network resets shows at once (ioredis
 * emits `close`); one that goes silent shows only when the operating system gives up on it
 * (see README "Health").
 */
export class ConnectionHealth {
  private phase: Phase = 'connecting';
  private readonly down = new Set<Redis>();
  private current: { readonly state: TransportHealth['state']; readonly since: Date } = { state: 'connecting', since: new Date() };
  private lastError: TransportHealth['lastError'];

  constructor(private readonly describe: (error: unknown) => string) {}

  /** Watch a connection that is ready now; the returned function stops watching it (before a deliberate disconnect). */
  watch(client: Redis): () => void {
    const onDown = () => {
      this.down.add(client);
      this.update();
    };
    const onReady = () => {
      this.down.delete(client);
      this.update();
    };
    const onError = (error: unknown) => this.failed(error);
    client.on('close', onDown);
    client.on('end', onDown);
    client.on('ready', onReady);
    client.on('error', onError);
    if (client.status !== 'ready') this.down.add(client);
    if (this.phase === 'connecting') this.phase = 'open';
    this.update();
    return () => {
      client.off('close', onDown);
      client.off('end', onDown);
      client.off('ready', onReady);
      client.off('error', onError);
      this.down.delete(client);
      this.update();
    };
  }

  /** A connection error (also one of a dial that never connected). */
  failed(error: unknown): void {
    this.lastError = { message: this.describe(error), at: new Date() };
  }

  close(): void {
    this.phase = 'closed';
    this.down.clear();
    this.update();
  }

  health(): TransportHealth {
    return { ...this.current, lastError: this.lastError };
  }

  private update(): void {
    const state: TransportHealth['state'] = this.phase === 'open' ? (this.down.size > 0 ? 'reconnecting' : 'connected') : this.phase;
    if (state !== this.current.state) this.current = { state, since: new Date() };
  }
}
