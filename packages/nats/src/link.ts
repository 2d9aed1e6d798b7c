import type { NatsConnection, Status } from '@nats-io/transport-node';
import { safeString, withTimeout, type Logger } from '@omnibus/core';

/** What a pull worker wants to hear about the connection. */
export interface LinkListener {
  onDisconnect(): void;
  onReconnect(): void;
}

/** Who else follows the client's status events (the transport's health): told after the link moved. */
export interface StatusObserver {
  onStatus(status: Status): void;
  failed(error: unknown): void;
}

/**
 * The connection once established, the one source of truth for "is it up": `connected`, or
 * `reconnecting` from a `disconnect` event until `reconnect` (the client re-dials, and never
 * gives up on its own but for an authorization error). Transitions: `lose` (connected →
 * reconnecting, a new epoch) and `restore` (→ connected).
 */
export type LinkState = { readonly kind: 'connected' | 'reconnecting'; readonly since: Date };

/**
 * The connection as the workers see it. Every disconnect starts a new epoch: a
 * delivery received in an older epoch is "from a lost connection", and its ack or
 * nack becomes a no-op (the server redelivers it after the ack wait), as the
 * transport contract asks.
 */
export class Link {
  private current: LinkState = { kind: 'connected', since: new Date() };
  private lostCount = 0;
  private readonly listeners = new Set<LinkListener>();
  /** Settlements waiting for the next turn of the event loop (see post()). */
  private postSubjects: string[] = [];
  private postPayloads: Uint8Array[] = [];
  private postScheduled = false;
  private watching: Promise<void> | undefined;
  private statusIterator: (AsyncIterable<Status> & { stop?: () => void }) | undefined;

  constructor(
    readonly nc: NatsConnection,
    private readonly logger: Logger,
  ) {}

  get state(): LinkState {
    return this.current;
  }

  get connected(): boolean {
    return this.current.kind === 'connected';
  }

  /** Connections lost so far: a delivery remembers the epoch it came in. */
  get epoch(): number {
    return this.lostCount;
  }

  /** Follow the client's status events until the connection closes, telling `observer` each one after the link moved. */
  watch(observer?: StatusObserver): void {
    const iterator = this.nc.status() as AsyncIterable<Status> & { stop?: () => void };
    this.statusIterator = iterator;
    this.watching = (async () => {
      for await (const status of iterator) {
        if (status.type === 'disconnect') this.lose(status.server);
        else if (status.type === 'reconnect') this.restore(status.server);
        else if (status.type === 'error') this.logger.warn({ error: status.error.message }, 'omnibus nats: connection error');
        observer?.onStatus(status);
      }
    })().catch((error: unknown) => {
      this.logger.error({ err: error }, 'omnibus nats: status watcher failed');
      observer?.failed(error);
    });
  }

  /** connected → reconnecting (a second `disconnect` while reconnecting changes nothing). */
  private lose(server: string): void {
    if (this.current.kind !== 'connected') return;
    this.current = { kind: 'reconnecting', since: new Date() };
    this.lostCount += 1;
    // Settlements of deliveries of the lost connection are no-ops: the server redelivers them.
    this.postSubjects = [];
    this.postPayloads = [];
    this.logger.warn({ server }, 'omnibus nats: connection lost, reconnecting');
    for (const listener of [...this.listeners]) listener.onDisconnect();
  }

  /** → connected (the listeners hear of every `reconnect`). */
  private restore(server: string): void {
    if (this.current.kind !== 'connected') this.current = { kind: 'connected', since: new Date() };
    this.logger.info({ server }, 'omnibus nats: reconnected');
    for (const listener of [...this.listeners]) listener.onReconnect();
  }

  add(listener: LinkListener): void {
    this.listeners.add(listener);
  }

  remove(listener: LinkListener): void {
    this.listeners.delete(listener);
  }

  /**
   * Publish without waiting for an answer (acks, naks), coalesced: what is posted in one
   * turn of the event loop goes out together (nats.js writes its outbound buffer once per
   * microtask checkpoint, so acks posted from separate promise chains would otherwise
   * each cost a socket write).
   */
  post(subject: string, payload: Uint8Array): void {
    this.postSubjects.push(subject);
    this.postPayloads.push(payload);
    if (this.postScheduled) return;
    this.postScheduled = true;
    setImmediate(() => this.sendPosted());
  }

  private sendPosted(): void {
    this.postScheduled = false;
    const subjects = this.postSubjects;
    const payloads = this.postPayloads;
    if (subjects.length === 0) return;
    this.postSubjects = [];
    this.postPayloads = [];
    let failed: unknown;
    for (let i = 0; i < subjects.length; i += 1) {
      try {
        this.nc.publish(subjects[i] as string, payloads[i]);
      } catch (error) {
        failed ??= error;
      }
    }
    // At worst the server redelivers those messages after the ack wait.
    if (failed !== undefined) this.logger.warn({ error: failed instanceof Error ? failed.message : safeString(failed) }, 'omnibus nats: settlements not sent');
  }

  /** Make sure the server received everything posted or published so far, within `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    this.sendPosted();
    if (!this.connected || this.nc.isClosed()) return;
    await withTimeout(this.nc.flush(), timeoutMs, () => new Error('flush timed out')).catch(() => {});
  }

  /** Does the server answer a PING in time? (A half-open TCP connection does not.) */
  async answers(timeoutMs: number): Promise<boolean> {
    if (this.nc.isClosed()) return false;
    return withTimeout(this.nc.flush(), timeoutMs, () => new Error('no PONG in time')).then(
      () => true,
      () => false,
    );
  }

  /** Drop the socket and dial again (used when the connection looks dead but the client did not notice). */
  forceReconnect(): void {
    if (this.nc.isClosed()) return;
    this.logger.warn({}, 'omnibus nats: the server does not answer, forcing a reconnect');
    this.nc.reconnect().catch(() => {});
  }

  async stop(): Promise<void> {
    this.statusIterator?.stop?.();
    this.listeners.clear();
    await this.watching;
  }
}
