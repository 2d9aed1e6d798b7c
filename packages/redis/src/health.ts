import type { TransportHealth } from '@omnibus/core';
import type { Redis } from 'ioredis';

/** Where the transport's connections are, as a whole: read from the transport's own State (transport.ts). */
export type ConnectionPhase =
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
  private readonly down = new Set<Redis>();
  private current: { readonly state: TransportHealth['state']; readonly since: Date } = { state: 'connecting', since: new Date() };
  private lastError: TransportHealth['lastError'];

  constructor(
    private readonly describe: (error: unknown) => string,
    /** The transport's phase (one source of truth: its State); call changed() when it moves. */
    private readonly phase: () => ConnectionPhase,
  ) {}

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

  /** The transport's phase moved. */
  changed(): void {
    this.update();
  }

  health(): TransportHealth {
    return { ...this.current, lastError: this.lastError };
  }

  private update(): void {
    const phase = this.phase();
    const state: TransportHealth['state'] = phase === 'open' ? (this.down.size > 0 ? 'reconnecting' : 'connected') : phase;
    if (state !== this.current.state) this.current = { state, since: new Date() };
  }
}
