import type { TransportHealth } from '@omnibus/core';

/**
 * The connection's state from the outcomes of requests (SQS is HTTP: there is no connection to
 * watch). `connecting` until a first request succeeded; `reconnecting` from a failed request the
 * network or the broker was to blame for, until the next request succeeds; `closed` once closed.
 */
export class RequestHealth {
  private current: { readonly state: TransportHealth['state']; readonly since: Date } = { state: 'connecting', since: new Date() };
  private lastError: TransportHealth['lastError'];

  constructor(private readonly describe: (error: unknown) => string) {}

  succeeded(): void {
    if (this.current.state === 'closed') return;
    this.move('connected');
  }

  /** A transient failure (the broker unreachable or failing). */
  failed(error: unknown): void {
    this.lastError = { message: this.describe(error), at: new Date() };
    if (this.current.state === 'connected') this.move('reconnecting');
  }

  closed(): void {
    this.move('closed');
  }

  health(): TransportHealth {
    return { ...this.current, lastError: this.lastError };
  }

  private move(state: TransportHealth['state']): void {
    if (this.current.state !== state) this.current = { state, since: new Date() };
  }
}
