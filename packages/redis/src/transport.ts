import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChainableCommander } from 'ioredis';
import {
  ClosedError,
  ConfigError,
  ConnectionError,
  MessageTooLargeError,
  PublishError,
  QueueFullError,
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
import { refusalOf, TopicBounds, type Refusal } from './bound.js';
import { redisCapabilities } from './capabilities.js';
import { encodeScheduled, entryFields, type FieldList } from './codec.js';
import { DEFAULT_ARGUMENT_LIMIT, largestArgumentOver, MAX_MESSAGE_BYTES, messageBytesOver, WORST_CASE_ARGUMENT_BYTES } from './size.js';
import { scheduledDelay } from './delay.js';
import { connectClient, connectionSettings, createClient, type ConnectionSettings } from './connection.js';
import { safeError, safeMessage } from './safe-error.js';
import { deleteGroup } from './delete-group.js';
import { ensureGroups } from './groups.js';
import { ConnectionHealth, type ConnectionPhase } from './health.js';
import { inspectTopic } from './inspect.js';
import { Keys } from './keys.js';
import { PipelineCoalescer, type JobOutcome } from './publish-coalescer.js';
import { parseRedisOptions, type RedisOptions } from './options.js';
import { Scheduler } from './scheduler.js';
import { scripted, scripts, type PipelineScripts, type ScriptedRedis } from './scripts.js';
import { RedisSubscription, type SubscriptionContext } from './subscription.js';
import { Trimmer } from './trimmer.js';

/** XAUTOCLAIM with its cursor semantics needs Redis 6.2. */
const MIN_REDIS_VERSION = [6, 2] as const;

interface Connected {
  readonly client: ScriptedRedis;
  readonly scheduler: Scheduler;
  readonly trimmer: Trimmer;
  /** Publish calls of one tick share a pipeline (see publish-coalescer.ts). */
  readonly publishes: PipelineCoalescer<PublishPipeline>;
  /** The server's proto-max-bulk-len (its default when CONFIG GET is not allowed). */
  readonly argumentLimit: number;
}

type PublishPipeline = ChainableCommander & PipelineScripts;

/** One message of a publish: an XADD of its fields, or (delayed) a scheduled entry. */
type PublishCommand = { readonly delayMs: number; readonly fields: FieldList; readonly entry?: undefined } | { readonly delayMs: number; readonly entry: Buffer; readonly fields?: undefined };

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
    // Headers are serialised once, for the size check and the entry.
    const headersJson = messages.map((message) => JSON.stringify(message.headers));
    // Everything is checked before anything is sent: a bad message fails the batch, none is stored.
    const delays = messages.map((message, index) => scheduledDelay(message.delayMs, messages.length > 1 ? `messages[${index}].delayMs` : 'delayMs'));
    const streams = messages.map((message) => this.keys.topic(message.topic));
    for (let index = 0; index < messages.length; index += 1) {
      const message = messages[index] as OutgoingMessage;
      const bytes = messageBytesOver(message, headersJson[index] as string, MAX_MESSAGE_BYTES);
      if (bytes !== undefined) throw new MessageTooLargeError({ topic: message.topic, bytes, limit: MAX_MESSAGE_BYTES, index: messages.length > 1 ? index : undefined });
    }
    const { client, scheduler, trimmer, argumentLimit, publishes } = await this.open();
    // The commands, built and measured against the server's proto-max-bulk-len before any is sent.
    const commands = messages.map((message, index) => {
      const fields = entryFields(message, undefined, headersJson[index]);
      const delayMs = delays[index] as number;
      const command: PublishCommand = delayMs > 0 ? { delayMs, entry: encodeScheduled(streams[index] as string, fields) } : { delayMs, fields };
      const largest = largestArgumentOver(command.entry ? [command.entry] : command.fields, argumentLimit);
      if (largest !== undefined) {
        throw new MessageTooLargeError({ topic: message.topic, bytes: largest, limit: argumentLimit, index: messages.length > 1 ? index : undefined, what: `the encoded entry of ${messages.length > 1 ? `message ${index} of the batch` : 'the message'}`, hint: " (this Redis's proto-max-bulk-len)" });
      }
      return command;
    });
    // One round trip for the batch, shared with the other publish calls of this tick (see
    // publish-coalescer.ts); each XADD (or script) replies on its own, and this call settles on its
    // own replies only.
    return new Promise<void>((resolve, reject) => {
      publishes.submit({
        commands: commands.length,
        add: (pipeline) => this.queueCommands(pipeline, messages, streams, commands),
        settle: (outcome) => {
          if (outcome.replies) {
            // Redis answered: what was scheduled is due soon, and the topics grew.
            let soonestDelay = Number.POSITIVE_INFINITY;
            for (const command of commands) if (command.entry) soonestDelay = Math.min(soonestDelay, command.delayMs);
            if (soonestDelay !== Number.POSITIVE_INFINITY) scheduler.poke(soonestDelay);
            for (const message of messages) trimmer.touch(message.topic);
          }
          try {
            this.settlePublish(client, messages, commands, outcome);
            resolve();
          } catch (error) {
            reject(error);
          }
        },
      });
    });
  }

  /** The commands of one publish call, on the shared pipeline. */
  private queueCommands(pipeline: PublishPipeline, messages: readonly OutgoingMessage[], streams: readonly string[], commands: readonly PublishCommand[]): void {
    commands.forEach((command, index) => {
      const stream = streams[index] as string;
      const topic = (messages[index] as OutgoingMessage).topic;
      // Retries never come here (they go to a group's redelivery stream): a bound refuses user publishes only.
      const bound = this.bounds.of(topic);
      if (command.entry) {
        // A delayed publish is checked now against a reject bound, and stored when due whatever the topic holds then.
        if (bound?.overflow === 'reject') pipeline.omnibusBoundedSchedule(stream, this.keys.scheduled, bound.maxMessages, this.keys.retryPrefix(topic), command.delayMs, command.entry);
        else pipeline.omnibusSchedule(this.keys.scheduled, command.delayMs, command.entry);
      } else if (bound) {
        pipeline.omnibusBoundedAdd(stream, bound.overflow, bound.maxMessages, bound.overflow === 'reject' ? this.keys.retryPrefix(topic) : '', ...command.fields);
      } else {
        pipeline.xadd(stream, '*', ...command.fields);
      }
    });
  }

  /**
   * What one publish call's replies mean: returns when every message was stored, throws the
   * PublishError or QueueFullError of this call otherwise.
   */
  private settlePublish(client: ScriptedRedis, messages: readonly OutgoingMessage[], commands: readonly PublishCommand[], outcome: JobOutcome): void {
    if (outcome.error !== undefined || !outcome.replies) {
      throw new PublishError(`publishing ${messages.length} message(s) to Redis failed: ${safeMessage(outcome.error, this.settings.secrets)}`, {
        topic: messages[0]?.topic,
        cause: this.unreachable(client, outcome.error),
      });
    }
    const results = outcome.replies;
    if (results.length !== commands.length) {
      throw new PublishError(`publishing ${messages.length} message(s) to Redis failed: no reply`, { topic: messages[0]?.topic });
    }
    const failed = results.flatMap(([error], index) => (error ? [{ error, message: messages[index] as OutgoingMessage }] : []));
    const first = failed[0];
    if (first) {
      throw new PublishError(
        `Redis refused ${failed.length} of ${messages.length} message(s) (the others were accepted), first ${first.message.id} to "${first.message.topic}": ${safeMessage(first.error, this.settings.secrets)}`,
        { topic: first.message.topic, cause: this.unreachable(client, first.error) },
      );
    }
    // Refused for lack of room: a QueueFullError, final (never retried here: room comes only from consumers).
    const refused = results.flatMap(([, reply], index) => {
      const refusal = refusalOf(reply);
      return refusal ? [{ refusal, message: messages[index] as OutgoingMessage }] : [];
    });
    const firstRefused = refused[0];
    if (firstRefused) {
      const { message } = firstRefused;
      const detail = describeRefusal(this.bounds.of(message.topic)?.maxMessages, firstRefused.refusal);
      const which = messages.length > 1 ? `${refused.length} of ${messages.length} message(s) refused, the others stored; first ${message.id}: ` : '';
      throw new QueueFullError(message.topic, `${which}${detail}`);
    }
  }

  /**
   * The cause of a failed publish, scrubbed: wrapped in a ConnectionError when the client is not
   * connected (a timeout then means "unreachable").
   */
  private unreachable(client: { status: string }, error: unknown): Error {
    const cause = safeError(error, this.settings.secrets);
    if (client.status === 'ready') return cause;
    return new ConnectionError(`Redis at ${this.settings.display} is unreachable (client ${client.status})`, { cause });
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
      throw new ConnectionError(`inspecting topic "${topic}" in Redis failed: ${safeMessage(error, this.settings.secrets)}`, { cause: this.unreachable(client, error) });
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
      throw new ConnectionError(`deleting group "${group}" of topic "${topic}" in Redis failed: ${safeMessage(error, this.settings.secrets)}`, { cause: this.unreachable(client, error) });
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
    this.closing ??= this.shutdown();
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
  private async shutdown(): Promise<void> {
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
      const reply = (await client.config('GET', 'proto-max-bulk-len')) as unknown;
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

function describeRefusal(maxMessages: number | undefined, refusal: Refusal): string {
  return `at most ${maxMessages ?? '?'} messages waiting for a group; group "${refusal.group}" has ${refusal.waiting}`;
}
