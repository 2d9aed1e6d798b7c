import type { TransportHealth } from '@omnibus/core';

type State = TransportHealth['state'];

/**
 * The connection's state, from amqplib's own events (no broker round trip). The transport has
 * one AMQP connection (every channel rides on it), so its state is the transport's:
 *
 *   connecting ──connected──▶ connected ──lost──▶ reconnecting ──connected──▶ connected
 *        │                        │                     │
 *        └───────── close ────────┴──────── close ──────┴──────▶ closed (final)
 *
 * A failed attempt changes no state (a first connect that fails stays `connecting`, a failed
 * reconnect stays `reconnecting`); it only records `lastError`, scrubbed of credentials by the
 * caller. A connection the peer or the network resets shows at once (the socket closes); one
 * that goes silent shows after the missed heartbeats (about twice `heartbeatSeconds`).
 */
export class ConnectionHealth {
  private current: { readonly state: State; readonly since: Date } = { state: 'connecting', since: new Date() };
  private lastError: TransportHealth['lastError'];

  get state(): State {
    return this.current.state;
  }

  connected(): void {
    this.move('connected');
  }

  lost(error: Error): void {
    this.failed(error);
    if (this.current.state === 'connected') this.move('reconnecting');
  }

  /** A connection attempt or the connection itself failed; the state stays what it is. */
  failed(error: Error): void {
    this.lastError = { message: error.message, at: new Date() };
  }

  closed(): void {
    this.move('closed');
  }

  health(): TransportHealth {
    return { ...this.current, lastError: this.lastError };
  }

  private move(state: State): void {
    if (this.current.state === 'closed' || this.current.state === state) return;
    this.current = { state, since: new Date() };
  }
}
