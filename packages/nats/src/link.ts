import type { NatsConnection, Status } from '@nats-io/transport-node';
import { withTimeout, type Logger } from '@omnibus/core';

/** What a pull worker wants to hear about the connection. */
export interface LinkListener {
  onDisconnect(): void;
  onReconnect(): void;
}

/**
 * The connection as the workers see it. Every disconnect starts a new epoch: a
 * delivery received in an older epoch is "from a lost connection", and its ack or
 * nack becomes a no-op (the server redelivers it after the ack wait), as the
 * transport contract asks.
 */
export class Link {
  epoch = 0;
  connected = true;
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

  /** Follow the client's status events until the connection closes. */
  watch(): void {
    const iterator = this.nc.status() as AsyncIterable<Status> & { stop?: () => void };
    this.statusIterator = iterator;
    this.watching = (async () => {
      for await (const status of iterator) {
        if (status.type === 'disconnect') {
          if (!this.connected) continue;
          this.connected = false;
          this.epoch += 1;
          // Settlements of deliveries of the lost connection are no-ops: the server redelivers them.
          this.postSubjects = [];
          this.postPayloads = [];
          this.logger.warn({ server: status.server }, 'omnibus nats: connection lost, reconnecting');
          for (const listener of [...this.listeners]) listener.onDisconnect();
        } else if (status.type === 'reconnect') {
          this.connected = true;
          this.logger.info({ server: status.server }, 'omnibus nats: reconnected');
          for (const listener of [...this.listeners]) listener.onReconnect();
        } else if (status.type === 'error') {
          this.logger.warn({ error: status.error.message }, 'omnibus nats: connection error');
        }
      }
    })().catch((error: unknown) => this.logger.error({ err: error }, 'omnibus nats: status watcher failed'));
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
    if (failed !== undefined) this.logger.warn({ error: failed instanceof Error ? failed.message : String(failed) }, 'omnibus nats: settlements not sent');
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
