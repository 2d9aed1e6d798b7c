import { randomBytes } from 'node:crypto';
import rhea, { type Connection, type ConnectionOptions, type Container, type EventContext } from 'rhea';
import { ClosedError, ConnectionError, backoffDelay, exponentialBackoff, withTimeout, type Backoff, type Logger, type TransportHealth } from '@omnibus/core';
import type { Scrubber } from './errors.js';
import { tlsSocketOptions, type ResolvedConfig } from './options.js';

/** One AMQP connection as it was opened: a new one (a new generation) after every reconnect. */
export interface LiveConnection {
  readonly connection: Connection;
  readonly generation: number;
}

/**
 * Where the connection's lifecycle is. One field, each transition one method:
 * idle → dialling (connect) → open; open → reconnecting (lost) → dialling → open …;
 * any → closing (close) → closed. A failed first dial goes back to idle (connect() rejects).
 */
type State =
  | { readonly phase: 'idle' }
  | { readonly phase: 'dialling'; readonly first: boolean; readonly attempt: Promise<LiveConnection> }
  | { readonly phase: 'open'; readonly live: LiveConnection }
  | { readonly phase: 'reconnecting'; readonly failures: number; readonly timer: NodeJS.Timeout }
  | { readonly phase: 'closing' }
  | { readonly phase: 'closed' };

export interface ConnectionListener {
  /** A connection (re)opened: senders and receivers are attached anew on it. */
  opened(live: LiveConnection, reconnect: boolean): void;
  /** That connection is gone: nothing on it can be settled or confirmed any more. */
  lost(live: LiveConnection, error: Error): void;
}

/** What the broker said of itself in its AMQP open (`product`, `version`), and its offered capabilities. */
export interface PeerInfo {
  readonly properties: Readonly<Record<string, unknown>>;
  readonly capabilities: readonly string[];
}

/**
 * The transport's one AMQP connection, redialled with the kit's exponential backoff (with jitter)
 * for as long as the transport is open. rhea's own reconnect is off: every dial is a new rhea
 * connection, so a delivery or a pending send always belongs to exactly one generation.
 */
export class ConnectionManager {
  private state: State = { phase: 'idle' };
  private since = new Date();
  private lastError: TransportHealth['lastError'];
  private generation = 0;
  private everOpened = false;
  private readonly container: Container;
  private readonly listeners = new Set<ConnectionListener>();
  private readonly waiters = new Set<(live: LiveConnection) => void>();
  private readonly backoff: Backoff;
  private peer: PeerInfo | undefined;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
  ) {
    const { options } = config;
    this.container = rhea.create_container({ id: options.containerId ?? `omnibus-${randomBytes(6).toString('hex')}` });
    // Errors of links and sessions nobody handled reach the container; unhandled there, rhea would throw.
    this.container.on('error', (error: unknown) => this.logger.warn({ err: this.scrub.error(error), url: this.config.safeUrl }, 'omnibus amqp10: client error'));
    this.backoff = exponentialBackoff(options.reconnect.initialDelayMs, options.reconnect.maxDelayMs, { jitter: true });
  }

  listen(listener: ConnectionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The open connection now, if there is one. */
  current(): LiveConnection | undefined {
    return this.state.phase === 'open' ? this.state.live : undefined;
  }

  get closed(): boolean {
    return this.state.phase === 'closing' || this.state.phase === 'closed';
  }

  get peerInfo(): PeerInfo | undefined {
    return this.peer;
  }

  health(): TransportHealth {
    const { phase } = this.state;
    const state = phase === 'open' ? 'connected' : phase === 'reconnecting' ? 'reconnecting' : phase === 'closing' || phase === 'closed' ? 'closed' : this.everOpened ? 'reconnecting' : 'connecting';
    return { state, since: this.since, lastError: this.lastError };
  }

  /** Connect (the first time: rejects with a ConnectionError when the broker does not answer). Idempotent. */
  async connect(): Promise<void> {
    const { state } = this;
    switch (state.phase) {
      case 'open':
        return;
      case 'dialling':
        await state.attempt;
        return;
      case 'reconnecting':
        await this.waitOpen();
        return;
      case 'closing':
      case 'closed':
        throw new ClosedError('the amqp10 transport is closed');
      case 'idle':
        await this.dial(true);
    }
  }

  /** The open connection, waiting for a reconnect if needed (the caller bounds the wait). */
  waitOpen(): Promise<LiveConnection> {
    const live = this.current();
    if (live) return Promise.resolve(live);
    if (this.closed) return Promise.reject(new ClosedError('the amqp10 transport is closed'));
    // Someone waits for a connection: dial until one opens (like a reconnect), however the first dial went.
    if (this.state.phase === 'idle') void this.dial(false).catch(() => undefined);
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  /** Stop waiters without a connection (close, or the caller gave up). */
  forget(waiter: (live: LiveConnection) => void): void {
    this.waiters.delete(waiter);
  }

  private transition(next: State): void {
    this.state = next;
    this.since = new Date();
  }

  /** `failures`: dials that failed in a row before this one (the backoff's input). */
  private dial(first: boolean, failures = 0): Promise<LiveConnection> {
    const attempt = this.openOne();
    this.transition({ phase: 'dialling', first, attempt });
    attempt.then(
      (live) => {
        if (this.state.phase !== 'dialling' || this.state.attempt !== attempt) {
          // Closed meanwhile: this connection has no owner.
          this.abort(live.connection);
          return;
        }
        this.opened(live);
      },
      (error: Error) => {
        if (this.state.phase !== 'dialling' || this.state.attempt !== attempt) return;
        this.noteError(error);
        if (first && !this.everOpened) {
          this.transition({ phase: 'idle' });
          return;
        }
        this.scheduleReconnect(failures + 1, error);
      },
    );
    return attempt;
  }

  private opened(live: LiveConnection): void {
    const reconnect = this.everOpened;
    this.everOpened = true;
    this.transition({ phase: 'open', live });
    if (reconnect) this.logger.info({ url: this.config.safeUrl, generation: live.generation }, 'omnibus amqp10: reconnected');
    for (const listener of this.listeners) listener.opened(live, reconnect);
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiters) resolve(live);
  }

  private lost(live: LiveConnection, error: Error): void {
    if (this.state.phase !== 'open' || this.state.live !== live) return;
    this.noteError(error);
    this.logger.warn({ err: error, url: this.config.safeUrl }, 'omnibus amqp10: connection lost; reconnecting');
    this.abort(live.connection);
    this.scheduleReconnect(0, error);
    for (const listener of this.listeners) listener.lost(live, error);
  }

  private scheduleReconnect(failures: number, error: Error): void {
    const delayMs = failures === 0 ? 0 : backoffDelay(this.backoff, failures);
    const timer = setTimeout(() => {
      if (this.state.phase !== 'reconnecting' || this.state.timer !== timer) return;
      // A failed dial schedules the next one itself (see dial).
      this.dial(false, failures).catch(() => undefined);
    }, delayMs);
    this.transition({ phase: 'reconnecting', failures, timer });
    if (failures > 0) this.logger.debug({ err: error, delayMs }, 'omnibus amqp10: next reconnect attempt');
  }

  /** One rhea connection, open or rejected (ConnectionError) within connectTimeoutMs. */
  private openOne(): Promise<LiveConnection> {
    const { connect, options } = this.config;
    const generation = ++this.generation;
    const connectionOptions: ConnectionOptions = {
      host: connect.host,
      port: connect.port,
      hostname: connect.host,
      reconnect: false,
      idle_time_out: options.idleTimeoutMs || undefined,
      ...(connect.username !== undefined ? { username: connect.username, password: connect.password ?? '' } : {}),
      ...(connect.tls ? { transport: 'tls' as const, ...tlsSocketOptions(options, connect.host) } : {}),
    } as ConnectionOptions;
    const connection = this.container.connect(connectionOptions);
    const live: LiveConnection = { connection, generation };
    const opening = new Promise<LiveConnection>((resolve, reject) => {
      let opened = false;
      connection.on('connection_open', (context: EventContext) => {
        opened = true;
        const remote = (context.connection as unknown as { remote?: { open?: { properties?: Record<string, unknown>; offered_capabilities?: unknown } } }).remote?.open;
        const offered = remote?.offered_capabilities;
        this.peer = { properties: remote?.properties ?? {}, capabilities: Array.isArray(offered) ? offered.map(String) : typeof offered === 'string' ? [offered] : [] };
        resolve(live);
      });
      const fail = (error: unknown) => {
        const safe = this.scrub.error(error ?? 'connection closed');
        if (!opened) reject(new ConnectionError(`cannot connect to ${this.config.safeUrl}: ${safe.message}`, { cause: safe }));
        else this.lost(live, safe);
      };
      // A refused SASL login is rhea's transport_error (condition amqp:unauthorized-access), not the close's error.
      const errorOf = (context: EventContext): unknown => context.connection.error ?? (context.connection as unknown as { transport_error?: unknown }).transport_error;
      connection.on('connection_error', (context: EventContext) => fail(errorOf(context)));
      connection.on('connection_close', (context: EventContext) => fail(errorOf(context) ?? 'the broker closed the connection'));
      connection.on('disconnected', (context: EventContext) => fail(errorOf(context) ?? context.error ?? 'disconnected'));
      connection.on('error', (error: unknown) => fail(error));
      connection.on('protocol_error', (error: unknown) => fail(error));
    });
    return withTimeout(opening, options.connectTimeoutMs, () => new ConnectionError(`cannot connect to ${this.config.safeUrl}: no AMQP open within ${options.connectTimeoutMs} ms`)).catch((error: unknown) => {
      this.abort(connection);
      throw error;
    });
  }

  /** Drop a connection now (its socket), without waiting for the broker. */
  private abort(connection: Connection): void {
    connection.removeAllListeners();
    // Late events of a dropped connection must not reach the container unhandled.
    connection.on('error', () => undefined);
    connection.on('disconnected', () => undefined);
    const socket = (connection as unknown as { socket?: { destroy(): void } }).socket;
    socket?.destroy();
  }

  private noteError(error: Error): void {
    this.lastError = { message: error.message, at: new Date() };
  }

  /** Close the connection: the AMQP close, waited for up to closeTimeoutMs, then the socket. Idempotent. */
  async close(): Promise<void> {
    const { state } = this;
    if (state.phase === 'closing' || state.phase === 'closed') return;
    this.transition({ phase: 'closing' });
    this.waiters.clear();
    if (state.phase === 'reconnecting') clearTimeout(state.timer);
    const live = state.phase === 'open' ? state.live : state.phase === 'dialling' ? await state.attempt.catch(() => undefined) : undefined;
    if (live) {
      const { connection } = live;
      const done = new Promise<void>((resolve) => {
        connection.removeAllListeners();
        connection.on('connection_close', () => resolve());
        connection.on('disconnected', () => resolve());
        connection.on('connection_error', () => resolve());
        connection.on('error', () => resolve());
        connection.close();
      });
      await withTimeout(done, Math.max(1, this.config.options.closeTimeoutMs), () => new Error('close timed out')).catch(() => undefined);
      this.abort(connection);
    }
    this.transition({ phase: 'closed' });
  }
}
