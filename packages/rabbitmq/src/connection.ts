import { hostname } from 'node:os';
import { connect as amqpConnect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import { ClosedError, ConnectionError, withTimeout, type Logger, type TransportHealth } from '@omnibus/core';
import type { Scrubber } from './errors.js';
import { ConnectionHealth } from './health.js';
import { tlsSocketOptions, type ResolvedConfig } from './options.js';

export interface ConnectionEvents {
  /** A (re)connection is up: open channels, re-declare topology, re-create consumers. */
  connected(model: ChannelModel, reconnect: boolean): void;
  /** The connection is gone; every channel on it is closed. amqplib's recovery reconnects with backoff. */
  disconnected?(error: Error): void;
}

interface Waiter {
  resolve(model: ChannelModel): void;
  reject(error: Error): void;
}

/**
 * One AMQP connection, kept alive by amqplib's recovery (exponential backoff with jitter).
 * amqplib recovers the connection only; channels, topology and consumers are restored by
 * the listeners of `connected`. Its state (connecting, connected, reconnecting, closed) is one
 * ConnectionHealth, which also tells a first connection from a reconnect.
 */
export class ConnectionManager {
  private recovering: RecoveringChannelModel | undefined;
  private model: ChannelModel | undefined;
  private opening: Promise<void> | undefined;
  private readonly status = new ConnectionHealth();
  /** close() was called (the status says `closed` once it finished). */
  private closed = false;
  private readonly waiters = new Set<Waiter>();
  private readonly listeners = new Set<ConnectionEvents>();

  constructor(
    private readonly config: ResolvedConfig,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
  ) {}

  /** The live connection, if any. */
  get current(): ChannelModel | undefined {
    return this.model;
  }

  /** The connection's state now (see health.ts). */
  health(): TransportHealth {
    return this.status.health();
  }

  listen(events: ConnectionEvents): () => void {
    this.listeners.add(events);
    return () => this.listeners.delete(events);
  }

  /** Resolves once connected; rejects with a ConnectionError when the first connection fails. */
  async connect(): Promise<void> {
    if (this.closed) throw new ClosedError('the rabbitmq transport is closed');
    if (this.model) return;
    if (!this.recovering) {
      this.opening ??= this.open().finally(() => {
        this.opening = undefined;
      });
      return this.opening;
    }
    // Connected once and reconnecting now: wait for it, as a fresh connect would.
    await this.waitForModel(this.config.options.connectTimeoutMs);
  }

  /** The live connection, waiting up to `timeoutMs` for a reconnect. */
  waitForModel(timeoutMs: number): Promise<ChannelModel> {
    if (this.closed) return Promise.reject(new ClosedError('the rabbitmq transport is closed'));
    if (this.model) return Promise.resolve(this.model);
    let waiter!: Waiter;
    const connected = new Promise<ChannelModel>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.add(waiter);
    });
    return withTimeout(connected, timeoutMs, () => {
      this.waiters.delete(waiter);
      return new ConnectionError(`rabbitmq: not connected to ${this.config.safeUrl} after ${timeoutMs} ms`);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new ClosedError('the rabbitmq transport is closed');
    for (const waiter of [...this.waiters]) waiter.reject(error);
    this.waiters.clear();
    const recovering = this.recovering;
    this.recovering = undefined;
    this.model = undefined;
    await this.opening?.catch(() => {});
    await recovering?.close().catch((cause: unknown) => {
      this.logger.debug({ err: this.scrub.error(cause) }, 'rabbitmq: error while closing the connection');
    });
    this.status.closed();
  }

  private async open(): Promise<void> {
    const { connect, options } = this.config;
    const recovering = await amqpConnect(
      {
        protocol: connect.protocol,
        hostname: connect.hostname,
        port: connect.port,
        username: connect.username,
        password: connect.password,
        vhost: connect.vhost,
        heartbeat: connect.heartbeat,
        ...(connect.frameMax !== undefined ? { frameMax: connect.frameMax } : {}),
        ...(connect.channelMax !== undefined ? { channelMax: connect.channelMax } : {}),
      },
      {
        ...tlsSocketOptions(options),
        timeout: options.connectTimeoutMs,
        noDelay: true,
        keepAlive: true,
        clientProperties: { connection_name: options.connectionName, omnibus_host: hostname(), omnibus_pid: process.pid },
        recovery: {
          initialDelay: options.reconnect.initialDelayMs,
          maxDelay: Math.max(options.reconnect.initialDelayMs, options.reconnect.maxDelayMs),
          factor: 2,
          jitter: 0.2,
          maxRetries: Infinity,
          initialMaxRetries: options.connectRetries,
          waitForConnect: false,
        },
      },
    );
    this.bind(recovering);
    try {
      await recovering.waitForConnect();
    } catch (cause) {
      await recovering.close().catch(() => {});
      if (this.closed) throw new ClosedError('the rabbitmq transport is closed');
      const safe = this.scrub.error(cause);
      const error = new ConnectionError(`rabbitmq: cannot connect to ${this.config.safeUrl}: ${safe.message}`, { cause: safe });
      this.status.failed(error);
      throw error;
    }
    if (this.closed) {
      await recovering.close().catch(() => {});
      throw new ClosedError('the rabbitmq transport is closed');
    }
    this.recovering = recovering;
  }

  private bind(recovering: RecoveringChannelModel): void {
    recovering.on('connect', (model: ChannelModel) => {
      if (this.closed) return;
      const reconnect = this.status.state !== 'connecting';
      this.status.connected();
      this.model = model;
      this.logger.info({ url: this.config.safeUrl }, reconnect ? 'rabbitmq: reconnected' : 'rabbitmq: connected');
      for (const waiter of [...this.waiters]) waiter.resolve(model);
      this.waiters.clear();
      for (const listener of [...this.listeners]) this.safely(() => listener.connected(model, reconnect));
    });
    recovering.on('disconnect', (cause: Error) => {
      this.model = undefined;
      if (this.closed) return;
      const error = this.scrub.error(cause);
      this.logger.warn({ err: error, url: this.config.safeUrl }, 'rabbitmq: connection lost, reconnecting');
      this.status.lost(error);
      for (const listener of [...this.listeners]) this.safely(() => listener.disconnected?.(error));
    });
    recovering.on('connect-failed', (cause: Error) => {
      if (this.closed) return;
      const error = this.scrub.error(cause);
      this.logger.warn({ err: error, url: this.config.safeUrl }, 'rabbitmq: connection attempt failed');
      this.status.failed(error);
    });
    recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => {
      this.logger.debug({ attempt: info.attempt, delayMs: info.delay }, 'rabbitmq: reconnect scheduled');
    });
    recovering.on('reconnect-failed', (cause: Error) => {
      if (this.status.state !== 'connecting' && !this.closed) this.logger.error({ err: this.scrub.error(cause) }, 'rabbitmq: gave up reconnecting');
    });
    // Without an 'error' listener an EventEmitter throws: connection errors are logged, recovery handles them.
    recovering.on('error', (cause: Error) => {
      if (this.closed) return;
      const error = this.scrub.error(cause);
      this.logger.warn({ err: error }, 'rabbitmq: connection error');
      this.status.failed(error);
    });
    recovering.on('blocked', (reason: string) => this.logger.warn({ reason }, 'rabbitmq: broker blocked publishing (resource alarm)'));
    recovering.on('unblocked', () => this.logger.info('rabbitmq: broker unblocked publishing'));
  }

  private safely(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.logger.error({ err: this.scrub.error(error) }, 'rabbitmq: connection listener failed');
    }
  }
}
