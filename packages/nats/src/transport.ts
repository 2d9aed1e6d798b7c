import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  assertGroupName,
  ClosedError,
  ConfigError,
  ConnectionError,
  isOmnibusError,
  type Logger,
  type OutgoingMessage,
  type SubscribeParams,
  type Transport,
  type TransportCapabilities,
  type BrokerInfo,
  type TransportHealth,
  type TransportInit,
  type TransportInspection,
  type TransportSubscription,
  type TopicSettings,
} from '@omnibus/core';
import { assertBoundKeepable } from './bound.js';
import { DEFAULT_MAX_PAYLOAD, HEADER_ALLOWANCE, natsBoundSupport, natsCapabilities } from './capabilities.js';
import { resolveConnection, type ResolvedConnection } from './connection-options.js';
import { DelayMover } from './delay-mover.js';
import { deleteGroup } from './delete-group.js';
import { errorText } from './errors.js';
import { ConnectionHealth } from './health.js';
import { inspectTopic } from './inspect.js';
import { Link } from './link.js';
import { Naming } from './naming.js';
import { parseNatsOptions, type NatsOptions } from './options.js';
import { Publisher } from './publisher.js';
import { NatsSubscription } from './subscription.js';
import { Topology } from './topology.js';

interface Connected {
  readonly nc: NatsConnection;
  readonly link: Link;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** `nats://` and `tls://`: the NATS JetStream transport. */
export function createTransport(init: TransportInit): Transport {
  const options = parseNatsOptions(init.options);
  return new NatsTransport(init.url, options, init.logger);
}

class NatsTransport implements Transport {
  readonly name = 'nats';
  private readonly connection: ResolvedConnection;
  private readonly naming: Naming;
  private readonly topology: Topology;
  private readonly publisher: Publisher;
  private readonly mover: DelayMover;
  private readonly subscriptions = new Set<NatsSubscription>();
  private readonly connectionHealth: ConnectionHealth;
  private connected: Connected | undefined;
  private connecting: Promise<Connected> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    url: string,
    private readonly options: NatsOptions,
    private readonly logger: Logger,
  ) {
    this.connection = resolveConnection(url, options);
    this.connectionHealth = new ConnectionHealth((error) => errorText(error, this.connection.secrets));
    this.naming = new Naming(options.streamPrefix, options.subjectPrefix);
    this.topology = new Topology(() => this.live().jsm, this.naming, options);
    this.publisher = new Publisher(
      () => this.live().js,
      this.naming,
      this.topology,
      options,
      this.connection.secrets,
      () => this.mover.start(),
      () => this.live().link,
      () => this.maxPayload,
    );
    this.mover = new DelayMover(() => this.live().link, this.naming, this.topology, this.publisher, options, this.connection.secrets, logger);
  }

  /** The server's max_payload (from its INFO, which a reconnect to another server renews). */
  private get maxPayload(): number {
    return this.connected?.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  get capabilities(): TransportCapabilities {
    return {
      ...natsCapabilities,
      persistence: this.options.storage === 'file',
      maxMessageBytes: this.maxPayload - HEADER_ALLOWANCE,
      boundedTopics: natsBoundSupport(this.connected?.nc.info?.version),
    };
  }

  async connect(): Promise<void> {
    await this.ready();
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    await this.ready();
    if (messages.length === 0) return;
    await this.publisher.publish(messages);
  }

  /**
   * A bounded topic: its stream gets the bound's limits (see bound.ts and README "Bounded
   * topics"), created so or updated; a bound this server cannot keep, or a stream that cannot
   * take it, is a ConfigError naming `bound`.
   */
  async declareTopic(topic: string, settings: TopicSettings): Promise<void> {
    this.checkNames(topic, undefined);
    const { nc } = await this.ready();
    const bound = settings.bound;
    if (!bound) return;
    assertBoundKeepable(topic, bound, this.options.maxBytes, nc.info?.version);
    await this.admin(`bound topic "${topic}"`, () => this.topology.declareBound(topic, bound));
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    await this.ready();
    await this.admin(`create group "${group}" of topic "${topic}"`, () => this.topology.ensureGroup(topic, group));
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    const { link } = await this.ready();
    await this.admin(`create group "${params.group}" of topic "${params.topic}"`, () => this.topology.ensureGroup(params.topic, params.group, params.concurrency));
    this.assertOpen();
    // Any process that consumes also moves due delayed messages, so they arrive even if their publisher is gone.
    this.mover.start().catch((error: unknown) => {
      this.logger.warn({ error: errorText(error, this.connection.secrets) }, 'omnibus nats: cannot start the delayed message mover (delayed publish will wait for another process)');
    });
    const subscription = new NatsSubscription(
      { link, naming: this.naming, topology: this.topology, options: this.options, secrets: this.connection.secrets, logger: this.logger },
      params,
      (closed) => this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  /**
   * Depth and lag of the topic and its groups from JetStream's counters (see inspect.ts and README
   * "Inspection"). Creates nothing; names are checked first (a ConfigError), a failed API call is
   * a ConnectionError.
   */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.checkNames(topic, group);
    const { jsm } = await this.ready();
    return this.admin(`inspect topic "${topic}"`, () => inspectTopic(jsm, this.naming, topic, group));
  }

  /**
   * Delete the group's consumer, with everything JetStream keeps for it (see delete-group.ts and
   * README "Deleting a group"). Idempotent. Refused (a ConfigError naming `group`) while one of
   * this transport's subscriptions reads the group: its pull worker would re-create the consumer.
   */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.checkNames(topic, group);
    if ([...this.subscriptions].some((subscription) => subscription.reads(topic, group))) {
      throw new ConfigError('group', `"${group}" of topic "${topic}" is still read by an open subscription of this transport: close it before deleting the group (its consumer would be re-created)`);
    }
    const { jsm } = await this.ready();
    await this.admin(`delete group "${group}" of topic "${topic}"`, async () => {
      await deleteGroup(jsm, this.naming, topic, group);
    });
    // A later ensureGroup or subscribe must create the consumer again, not trust the cache.
    this.topology.forgetGroup(this.naming.stream(topic), group);
  }

  /** The server's INFO from the connection handshake (no extra round trip). */
  async brokerInfo(): Promise<BrokerInfo> {
    const { nc } = await this.ready();
    const info = nc.info;
    const details: Record<string, string> = {};
    if (info?.server_name) details.server_name = info.server_name;
    if (info?.cluster) details.cluster = info.cluster;
    if (info) details.jetstream = String(info.jetstream === true);
    return { product: 'nats-server', version: info?.version, details };
  }

  /** The connection's state from the client's status events (see health.ts and README "Health"). */
  health(): TransportHealth {
    return this.connectionHealth.health();
  }

  close(): Promise<void> {
    this.closing ??= this.runClose();
    return this.closing;
  }

  private async runClose(): Promise<void> {
    this.connectionHealth.close();
    const connected = this.connected ?? (await this.connecting?.catch(() => undefined));
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
    await this.mover.close().catch(() => {});
    if (!connected) return;
    // Acks and naks are not confirmed one by one: flush, so the server has them all, then disconnect.
    await connected.link.flush(this.options.closeTimeoutMs);
    await connected.nc.close().catch(() => {});
    await connected.link.stop();
  }

  /** Connect once (concurrent callers share the attempt; a failed attempt can be retried). */
  private async ready(): Promise<Connected> {
    this.assertOpen();
    if (this.connected) return this.connected;
    this.connecting ??= this.open().catch((error: unknown) => {
      this.connecting = undefined;
      throw error;
    });
    const connected = await this.connecting;
    this.assertOpen();
    return connected;
  }

  private async open(): Promise<Connected> {
    const where = this.connection.servers.join(', ');
    let nc: NatsConnection;
    try {
      nc = await connect(this.connection.options);
    } catch (error) {
      this.connectionHealth.failed(error);
      throw new ConnectionError(`cannot connect to NATS at ${where}: ${errorText(error, this.connection.secrets)}`, { cause: error });
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: this.options.requestTimeoutMs });
      const js = jetstream(nc, { timeout: this.options.requestTimeoutMs });
      const link = new Link(nc, this.logger);
      this.connectionHealth.linked(link, nc);
      link.watch(this.connectionHealth);
      this.connected = { nc, link, js, jsm };
      this.logger.info({ servers: where, server: nc.getServer(), version: nc.info?.version }, 'omnibus nats: connected');
      return this.connected;
    } catch (error) {
      this.connectionHealth.failed(error);
      await nc.close().catch(() => {});
      throw new ConnectionError(`NATS at ${where} answers but JetStream is not available (start nats-server with -js): ${errorText(error, this.connection.secrets)}`, { cause: error });
    }
  }

  /** Stream/consumer management: Omnibus errors (a name collision) pass, the rest becomes a ConnectionError. */
  private async admin<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isOmnibusError(error)) throw error;
      throw new ConnectionError(`cannot ${what} on NATS JetStream: ${errorText(error, this.connection.secrets)}`, { cause: error });
    }
  }

  /** A topic and group this transport can name in JetStream (a ConfigError before any broker call). */
  private checkNames(topic: string, group: string | undefined): void {
    this.assertOpen();
    this.naming.stream(topic);
    this.naming.subject(topic);
    // A consumer name cannot hold ".", "*", ">" or spaces; core's group rule excludes them all.
    if (group !== undefined) assertGroupName(group);
  }

  private live(): Connected {
    if (!this.connected) throw new ClosedError('the nats transport is not connected');
    return this.connected;
  }

  private assertOpen(): void {
    if (this.closing) throw new ClosedError('the nats transport is closed');
  }
}
