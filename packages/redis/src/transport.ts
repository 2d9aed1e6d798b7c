import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ClosedError,
  ConfigError,
  ConnectionError,
  type Logger,
  type OutgoingMessage,
  type SubscribeParams,
  type Transport,
  type BrokerInfo,
  type TransportHealth,
  type TransportInit,
  type TransportInspection,
  type TransportSubscription,
  type TopicSettings,
  withTimeout,
} from '@omnibus/core';
import { TopicBounds } from './bound.js';
import { redisCapabilities } from './capabilities.js';
import { DEFAULT_ARGUMENT_LIMIT, WORST_CASE_ARGUMENT_BYTES } from './size.js';
import { connectClient, connectionSettings, createClient, type ConnectionSettings } from './connection.js';
import { safeError, safeMessage } from './safe-error.js';
import { deleteGroup } from './delete-group.js';
import { ensureGroups } from './groups.js';
import { ConnectionHealth, type ConnectionPhase } from './health.js';
import { inspectTopic } from './inspect.js';
import { Keys } from './keys.js';
import { PipelineCoalescer } from './publish-coalescer.js';
import { parseRedisOptions, type RedisOptions } from './options.js';
import { RedisPublisher, unreachable, type PublishConnection, type PublishPipeline } from './publisher.js';
import { Scheduler } from './scheduler.js';
import { scripted, scripts, type ScriptedRedis } from './scripts.js';
import { RedisSubscription, type SubscriptionContext } from './subscription.js';
import { Trimmer } from './trimmer.js';

/** XAUTOCLAIM with its cursor semantics needs Redis 6.2. */
const MIN_REDIS_VERSION = [6, 2] as const;

interface Connected extends PublishConnection {
  readonly scheduler: Scheduler;
  readonly trimmer: Trimmer;
}

/**
 * Where the transport is; each transition is one method:
 * - `idle` → `dialling` → `open`: open() (the first command, or connect()); a failed dial goes back
 *   to `idle`, and the next command dials again;
 * - → `closing` → `closed`: close() (new work is refused from `closing` on; subscriptions release
 *   their deliveries over the connection, which is quit once the transport is `closed`).
 */
type State =
  | { readonly name: 'idle' }
  | { readonly name: 'dialling'; readonly dialled: Promise<Connected> }
  | { readonly name: 'open'; readonly dialled: Promise<Connected>; readonly connected: Connected }
  | { readonly name: 'closing'; readonly connected: Connected | undefined }
  | { readonly name: 'closed' };

/** The health's phase of each state (ConnectionHealth reads it from here). */
const PHASES: Record<State['name'], ConnectionPhase> = { idle: 'connecting', dialling: 'connecting', open: 'open', closing: 'closed', closed: 'closed' };

/** `createTransport({ url: 'redis://…', options, logger })`: the Redis Streams transport. */
export function createTransport(init: TransportInit): Transport {
  return new RedisTransport(init);
}

export class RedisTransport implements Transport {
  readonly name = 'redis';
  readonly capabilities = redisCapabilities;
  private readonly options: RedisOptions;
  private readonly settings: ConnectionSettings;
  private readonly keys: Keys;
  private readonly logger: Logger;
  /** Bounded topics declared by core (declareTopic), applied by every publish to them. */
  private readonly bounds = new TopicBounds();
  private readonly publisher: RedisPublisher;
  /** Distinguishes this transport's consumers from other transports of the same process. */
  private readonly instance = randomBytes(3).toString('hex');
  private readonly subscriptions = new Set<RedisSubscription>();
  private subscriptionCount = 0;
  private state: State = { name: 'idle' };
  private closing: Promise<void> | undefined;
  private readonly connection = new ConnectionHealth(
    (error) => safeMessage(error, this.settings.secrets),
    () => PHASES[this.state.name],
  );

  constructor(init: TransportInit) {
    this.options = parseRedisOptions(init.options);
    this.settings = connectionSettings(init.url, this.options);
    this.keys = new Keys(this.options.prefix);
    this.logger = init.logger;
    this.publisher = new RedisPublisher(this.keys, this.bounds, this.settings);
  }

  async connect(): Promise<void> {
    await this.open();
  }

  /**
   * A topic's bound, kept for this transport's publishes to it (see bound.ts and README
   * "Bounded topics"). Nothing is written to Redis: the scripts get the bound with each publish.
   */
  async declareTopic(topic: string, settings: TopicSettings): Promise<void> {
    this.assertOpen();
    this.keys.topic(topic);
    this.bounds.declare(topic, settings);
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    // Checked before the connection is waited for: a bad message fails at once, none is stored.
    const checked = this.publisher.check(messages);
    return this.publisher.send(await this.open(), checked);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    // Names are checked before anything is created (a ConfigError, not a ConnectionError).
    this.keys.retry(topic, group);
    const { client, trimmer } = await this.open();
    try {
      await ensureGroups(client, this.keys, topic, group);
    } catch (error) {
      throw new ConnectionError(`creating group "${group}" of topic "${topic}" in Redis failed: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
    }
    trimmer.touch(topic);
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    // params.concurrency: an integer >= 1, validated by core (subscribe options) before this call.
    this.assertOpen();
    this.keys.retry(params.topic, params.group);
    const connected = await this.open();
    this.subscriptionCount += 1;
    const consumer = `${this.options.consumerName ?? hostname()}:${process.pid}:${this.instance}:${this.subscriptionCount}`;
    const subscription = new RedisSubscription(this.context(connected), params, consumer, (closed) => this.subscriptions.delete(closed));
    try {
      await subscription.start();
    } catch (error) {
      await subscription.close().catch(() => {});
      if (error instanceof ConnectionError) throw error;
      throw new ConnectionError(`subscribing to "${params.topic}" as group "${params.group}" failed: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
    }
    if (this.isClosed) {
      await subscription.close();
      throw new ClosedError('the redis transport is closed');
    }
    this.subscriptions.add(subscription);
    connected.scheduler.activate();
    connected.trimmer.touch(params.topic);
    return subscription;
  }

  /**
   * Depth and lag of the topic and its groups, from Redis (see README "Inspection"). Creates
   * nothing; names are checked first (a ConfigError), a Redis failure is a ConnectionError.
   */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.assertOpen();
    this.keys.topic(topic);
    if (group !== undefined) this.keys.retry(topic, group);
    const { client } = await this.open();
    try {
      return await inspectTopic(client, this.keys, topic, group);
    } catch (error) {
      throw new ConnectionError(`inspecting topic "${topic}" in Redis failed: ${safeMessage(error, this.settings.secrets)}`, { cause: unreachable(client, error, this.settings) });
    }
  }

  /**
   * Remove the group and what is kept for it only (see delete-group.ts and README "Deleting a
   * group"). Idempotent. Names are checked first (a ConfigError); a group one of this transport's
   * own subscriptions still reads is refused (a ConfigError naming `group`: the subscription would
   * recreate it), so close it first; a Redis failure is a ConnectionError.
   */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    this.keys.retry(topic, group);
    if ([...this.subscriptions].some((subscription) => subscription.reads(topic, group))) {
      throw new ConfigError('group', `"${group}" of topic "${topic}" is still read by an open subscription of this transport: close it before deleting the group (its consumer would recreate the group)`);
    }
    const { client } = await this.open();
    try {
      await deleteGroup(client, this.keys, topic, group);
    } catch (error) {
      throw new ConnectionError(`deleting group "${group}" of topic "${topic}" in Redis failed: ${safeMessage(error, this.settings.secrets)}`, { cause: unreachable(client, error, this.settings) });
    }
  }

  /** INFO server, one round trip (a server may rename or refuse INFO: then the version is unknown). */
  async brokerInfo(): Promise<BrokerInfo> {
    this.assertOpen();
    const { client } = await this.open();
    const text = await client.info('server').catch(() => '');
    const fields = new Map(text.split(/\r?\n/).map((line) => line.split(':', 2) as [string, string | undefined]).filter(([name, value]) => value !== undefined && !name.startsWith('#')));
    const details: Record<string, string> = {};
    for (const name of ['redis_mode', 'os']) {
      const value = fields.get(name);
      if (value) details[name] = value;
    }
    return { product: fields.has('valkey_version') ? 'Valkey' : 'Redis', version: fields.get('redis_version'), details };
  }

  /** The state of the command connection and every consumer connection, from their events. */
  health(): TransportHealth {
    return this.connection.health();
  }

  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  /** Trim every topic this transport touched now (instead of waiting for trim.intervalMs). */
  async trimNow(): Promise<number> {
    const { trimmer } = await this.open();
    return trimmer.runOnce();
  }

  private to(state: State): void {
    this.state = state;
    this.connection.changed();
  }

  /** `closing` or `closed`: new work is refused. */
  private get isClosed(): boolean {
    return this.state.name === 'closing' || this.state.name === 'closed';
  }

  /** → closing → closed. */
  private async runClose(): Promise<void> {
    const before = this.state;
    this.to({ name: 'closing', connected: before.name === 'open' ? before.connected : undefined });
    // A dial in flight sees `closing` and fails: nothing to quit then, but it is waited for.
    const connected = before.name === 'open' ? before.connected : before.name === 'dialling' ? await before.dialled.catch(() => undefined) : undefined;
    // Subscriptions release their unsettled deliveries while the connection still works.
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
    this.subscriptions.clear();
    this.to({ name: 'closed' });
    if (!connected) return;
    connected.scheduler.stop();
    connected.trimmer.stop();
    try {
      await withTimeout(connected.client.quit(), 1_000, () => new Error('QUIT unanswered'));
    } catch {
      // Already gone, or not answering: disconnected below either way.
    }
    connected.client.disconnect();
  }

  /** idle → dialling → open (or back to idle when the dial fails); the connection once open. */
  private open(): Promise<Connected> {
    const { state } = this;
    if (state.name === 'closing' || state.name === 'closed') return Promise.reject(new ClosedError('the redis transport is closed'));
    if (state.name !== 'idle') return state.dialled;
    const dialled = this.dial().catch((error: unknown) => {
      if (this.state.name === 'dialling') this.to({ name: 'idle' });
      throw error;
    });
    this.to({ name: 'dialling', dialled });
    return dialled;
  }

  private async dial(): Promise<Connected> {
    const { settings, options } = this;
    const raw = createClient(settings, { scripts });
    let lastLogged = '';
    raw.on('error', (error: unknown) => {
      const message = safeMessage(error, settings.secrets);
      // ioredis repeats the same error on every reconnect attempt: log it once per change.
      if (message !== lastLogged) this.logger.warn({ err: safeError(error, settings.secrets), url: settings.display }, 'omnibus redis: connection error');
      lastLogged = message;
    });
    raw.on('ready', () => {
      if (lastLogged) this.logger.info({ url: settings.display }, 'omnibus redis: reconnected');
      lastLogged = '';
    });
    let argumentLimit: number;
    try {
      await connectClient(raw, options.connectTimeoutMs);
      await this.checkVersion(raw as ScriptedRedis);
      argumentLimit = await this.readArgumentLimit(raw as ScriptedRedis);
    } catch (error) {
      raw.disconnect();
      this.connection.failed(error);
      if (error instanceof ConnectionError) throw error;
      throw new ConnectionError(`cannot connect to Redis at ${settings.display}: ${safeMessage(error, settings.secrets)}`, { cause: safeError(error, settings.secrets) });
    }
    const { state } = this;
    if (state.name !== 'dialling') {
      raw.disconnect();
      throw new ClosedError('the redis transport is closed');
    }
    const client = scripted(raw);
    this.connection.watch(raw);
    const onError = (what: string) => (error: unknown) => this.logger.warn({ err: safeError(error, settings.secrets) }, `omnibus redis: ${what}`);
    const connected: Connected = {
      client,
      scheduler: new Scheduler(client, this.keys, options.schedulerIntervalMs, onError('moving scheduled messages failed')),
      trimmer: new Trimmer(client, this.keys, options.trim, onError('trimming streams failed')),
      publishes: new PipelineCoalescer(() => client.pipeline() as PublishPipeline),
      argumentLimit,
    };
    this.to({ name: 'open', dialled: state.dialled, connected });
    return connected;
  }

  private async checkVersion(client: ScriptedRedis): Promise<void> {
    const info = await client.info('server');
    const match = /redis_version:(\d+)\.(\d+)/.exec(info);
    if (!match) return;
    const [major, minor] = [Number(match[1]), Number(match[2])];
    if (major < MIN_REDIS_VERSION[0] || (major === MIN_REDIS_VERSION[0] && minor < MIN_REDIS_VERSION[1])) {
      throw new ConnectionError(`Redis at ${this.settings.display} is ${major}.${minor}; the redis transport needs ${MIN_REDIS_VERSION.join('.')} or newer (XAUTOCLAIM)`);
    }
  }

  /**
   * The server's proto-max-bulk-len. A server that refuses CONFIG (ACL, managed Redis) is
   * assumed to have the default; one set below what maxMessageBytes needs is logged once, and
   * its limit is applied to each encoded entry before anything of a batch is sent.
   */
  private async readArgumentLimit(client: ScriptedRedis): Promise<number> {
    let limit = DEFAULT_ARGUMENT_LIMIT;
    try {
      const reply = (await client.config('GET', 'proto-max-bulk-len'));
      const value = Array.isArray(reply) ? Number(reply[1]) : Number.NaN;
      if (Number.isSafeInteger(value) && value > 0) limit = value;
    } catch {
      return limit;
    }
    if (limit < WORST_CASE_ARGUMENT_BYTES) {
      this.logger.warn(
        { protoMaxBulkLen: limit, needed: WORST_CASE_ARGUMENT_BYTES },
        `omnibus redis: the server's proto-max-bulk-len (${limit} bytes) is below the ${WORST_CASE_ARGUMENT_BYTES} bytes a message of maxMessageBytes can encode to: a message whose entry is larger is refused with a MessageTooLargeError`,
      );
    }
    return limit;
  }

  private context(connected: Connected): SubscriptionContext {
    return {
      client: connected.client,
      settings: this.settings,
      options: this.options,
      keys: this.keys,
      logger: this.logger,
      scheduler: connected.scheduler,
      health: this.connection,
      // Until the transport is closed (its subscriptions closed): settling is then a no-op.
      isOpen: () => (this.state.name === 'open' || this.state.name === 'closing') && this.state.connected === connected,
    };
  }

  private assertOpen(): void {
    if (this.isClosed) throw new ClosedError('the redis transport is closed');
  }
}
