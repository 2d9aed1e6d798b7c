import type { NatsConnection, Status } from '@nats-io/transport-node';
import type { TransportHealth } from '@omnibus/core';

type State = TransportHealth['state'];
type LastError = NonNullable<TransportHealth['lastError']>;

/**
 * The transport's one connection, from the client's own status events (no round trip):
 * `connecting` from creation until the first connect succeeded (a failed connect() stays here,
 * with the error), `connected`, `reconnecting` from a `disconnect` event until `reconnect`, and
 * `closed` once the transport (or the client, giving up) closed it.
 *
 * nats.js reports a lost connection (`disconnect`), each dial attempt (`reconnecting`), but not why
 * an attempt failed: a `reconnecting` event while already reconnecting means the previous attempt
 * failed, and lastError says so. Server errors (`-ERR`), stale connections (unanswered pings) and
 * forced reconnects are recorded as they come.
 */
export class ConnectionHealth {
  private current: { readonly state: State; readonly since: Date } = { state: 'connecting', since: new Date() };
  private lastError: LastError | undefined;
  /** Dial attempts since the connection was lost. */
  private attempts = 0;
  private iterator: (AsyncIterable<Status> & { stop?: () => void }) | undefined;

  /** `describe` turns an error into a message without credentials. */
  constructor(private readonly describe: (error: unknown) => string) {}

  /** The connection is up: follow its status until it closes. */
  watch(nc: NatsConnection): void {
    if (this.current.state === 'closed') return;
    this.move('connected');
    const iterator = nc.status() as AsyncIterable<Status> & { stop?: () => void };
    this.iterator = iterator;
    void (async () => {
      for await (const status of iterator) this.onStatus(status);
    })().catch((error: unknown) => this.failed(error));
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
    this.iterator?.stop?.();
    this.iterator = undefined;
    this.move('closed');
  }

  health(): TransportHealth {
    return { ...this.current, lastError: this.lastError };
  }

  private onStatus(status: Status): void {
    if (this.current.state === 'closed') return;
    switch (status.type) {
      case 'disconnect':
        this.attempts = 0;
        this.record(`connection to NATS server ${this.describe(status.server)} lost`);
        this.move('reconnecting');
        break;
      case 'reconnecting':
        this.attempts += 1;
        if (this.attempts > 1) this.record(`reconnect attempt ${this.attempts - 1} to NATS failed`);
        this.move('reconnecting');
        break;
      case 'reconnect':
        this.attempts = 0;
        this.move('connected');
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

  private move(state: State): void {
    if (state !== this.current.state) this.current = { state, since: new Date() };
  }
}
