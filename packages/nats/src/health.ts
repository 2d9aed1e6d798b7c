import type { NatsConnection, Status } from '@nats-io/transport-node';
import type { TransportHealth } from '@omnibus/core';
import type { Link, StatusObserver } from './link.js';

type LastError = NonNullable<TransportHealth['lastError']>;

/**
 * The transport's connection state. `connecting` from creation until the first connect
 * succeeded (a failed connect() stays here, with the error); then `linked`: the link's own state
 * (connected, or reconnecting from a `disconnect` event until `reconnect`: see LinkState, the one
 * source of truth for it); `closed` once the transport (or the client, giving up) closed it.
 * Transitions: `linked(link)` and `close()`.
 */
type State =
  | { readonly kind: 'connecting'; readonly since: Date }
  | { readonly kind: 'linked'; readonly link: Link }
  | { readonly kind: 'closed'; readonly since: Date };

/**
 * The transport's one connection, from the client's own status events (no round trip), which the
 * link follows and passes on here.
 *
 * nats.js reports a lost connection (`disconnect`), each dial attempt (`reconnecting`), but not why
 * an attempt failed: a `reconnecting` event while already reconnecting means the previous attempt
 * failed, and lastError says so. Server errors (`-ERR`), stale connections (unanswered pings) and
 * forced reconnects are recorded as they come.
 */
export class ConnectionHealth implements StatusObserver {
  private state: State = { kind: 'connecting', since: new Date() };
  private lastError: LastError | undefined;
  /** Dial attempts since the connection was lost. */
  private attempts = 0;

  /** `describe` turns an error into a message without credentials. */
  constructor(private readonly describe: (error: unknown) => string) {}

  /** The connection is up, followed by `link` (which tells this of every status) until it closes. */
  linked(link: Link, nc: NatsConnection): void {
    if (this.state.kind === 'closed') return;
    this.state = { kind: 'linked', link };
    // The client closes by itself only when it gives up (an authorization error on reconnect, say).
    void nc.closed().then((error) => {
      if (error) this.failed(error);
      this.close();
    });
  }

  /** A connection error (also one of a first connect that never succeeded). */
  failed(error: unknown): void {
    this.record(this.describe(error));
  }

  close(): void {
    if (this.state.kind !== 'closed') this.state = { kind: 'closed', since: new Date() };
  }

  health(): TransportHealth {
    const { state } = this;
    if (state.kind === 'linked') return { state: state.link.state.kind, since: state.link.state.since, lastError: this.lastError };
    return { state: state.kind, since: state.since, lastError: this.lastError };
  }

  onStatus(status: Status): void {
    if (this.state.kind === 'closed') return;
    switch (status.type) {
      case 'disconnect':
        this.attempts = 0;
        this.record(`connection to NATS server ${this.describe(status.server)} lost`);
        break;
      case 'reconnecting':
        this.attempts += 1;
        if (this.attempts > 1) this.record(`reconnect attempt ${this.attempts - 1} to NATS failed`);
        break;
      case 'reconnect':
        this.attempts = 0;
        break;
      case 'error':
        this.failed(status.error);
        break;
      case 'staleConnection':
        this.record('the server did not answer pings: the connection is stale');
        break;
      case 'forceReconnect':
        this.record('the server did not answer: reconnect forced');
        break;
      case 'close':
        this.close();
        break;
      default:
        break;
    }
  }

  private record(message: string): void {
    this.lastError = { message, at: new Date() };
  }
}
