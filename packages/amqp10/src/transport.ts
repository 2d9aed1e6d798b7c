import {
  ClosedError,
  ConfigError,
  assertConcurrency,
  assertDelayMs,
  assertGroupName,
  assertTopicName,
  type BrokerInfo,
  type Logger,
  type OutgoingMessage,
  type SubscribeParams,
  type Transport,
  type TransportCapabilities,
  type TransportHealth,
  type TransportInspection,
  type TransportInit,
  type TransportSubscription,
} from '@omnibus/core';
import { amqp10Capabilities } from './capabilities.js';
import { checkHeaders, encodeMessage } from './codec.js';
import { ConnectionManager } from './connection.js';
import { DispositionGate } from './dispositions.js';
import { Scrubber } from './errors.js';
import { inspectTopic } from './inspect.js';
import { isMissingResource, Management } from './management.js';
import { Names } from './names.js';
import { resolveConfig, type ResolvedConfig } from './options.js';
import { Publisher } from './publisher.js';
import { Amqp10Subscription, attachReceiver, type SubscriptionDeps } from './subscription.js';

/** `amqp10://` / `amqp10s://` — AMQP 1.0 on ActiveMQ Artemis. Options: see Amqp10OptionsSchema and the README. */
export function createTransport(init: TransportInit): Transport {
  return new Amqp10Transport(resolveConfig(init.url, init.options), init.logger);
}

/** Where the transport is: open (connecting lazily), closing (close() under way), closed. */
type Lifecycle = { readonly phase: 'open' } | { readonly phase: 'closing'; readonly done: Promise<void> } | { readonly phase: 'closed' };

export class Amqp10Transport implements Transport {
  readonly name = 'amqp10';
  readonly capabilities: TransportCapabilities;
  private readonly connection: ConnectionManager;
  private readonly publisher: Publisher;
  private readonly names: Names;
  private readonly scrub: Scrubber;
  private readonly deps: SubscriptionDeps;
  private readonly management: Management;
  private readonly subscriptions = new Set<Amqp10Subscription>();
  /** Group queues known to exist (durable: they outlive reconnects and broker restarts). */
  private readonly ensured = new Map<string, Promise<void>>();
  private lifecycle: Lifecycle = { phase: 'open' };

  constructor(
    private readonly config: ResolvedConfig,
    private readonly logger: Logger,
  ) {
    const { options } = config;
    this.capabilities = { ...amqp10Capabilities, maxMessageBytes: options.maxMessageBytes };
    this.scrub = new Scrubber(config.secrets);
    this.names = new Names(options.prefix);
    this.connection = new ConnectionManager(config, this.scrub, logger);
    this.publisher = new Publisher(this.connection, options.publishTimeoutMs, this.scrub, logger);
    this.management = new Management(this.connection, options.connectTimeoutMs, this.scrub);
    this.deps = { connection: this.connection, publisher: this.publisher, scrub: this.scrub, logger, gate: new DispositionGate(), attachTimeoutMs: options.connectTimeoutMs, closeTimeoutMs: Math.max(1, options.closeTimeoutMs), reconnect: options.reconnect };
  }

  private assertOpen(): void {
    if (this.lifecycle.phase !== 'open') throw new ClosedError('the amqp10 transport is closed');
  }

  async connect(): Promise<void> {
    this.assertOpen();
    await this.connection.connect();
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    if (messages.length === 0) return;
    const items = messages.map((message) => {
      assertTopicName(message.topic);
      checkHeaders(message.headers);
      if (message.delayMs !== undefined) assertDelayMs(message.delayMs, 'delayMs');
      const deliverAt = message.delayMs ? Date.now() + message.delayMs : undefined;
      return { target: this.names.address(message.topic), topic: message.topic, message: encodeMessage(message, { deliverAt }) };
    });
    await this.publisher.send(items);
  }

  ensureGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    assertTopicName(topic);
    assertGroupName(group);
    const fqqn = this.names.fqqn(topic, group);
    let ensured = this.ensured.get(fqqn);
    if (!ensured) {
      ensured = this.attachOnce(fqqn);
      this.ensured.set(fqqn, ensured);
      ensured.catch(() => this.ensured.delete(fqqn));
    }
    return ensured;
  }

  /** Attach a receiver without credit and detach it: Artemis has created the group's durable queue by then. */
  private async attachOnce(fqqn: string): Promise<void> {
    await this.connection.connect();
    const live = await this.connection.waitOpen();
    const { receiver, opened } = attachReceiver(live, fqqn, this.config.options.connectTimeoutMs, this.scrub);
    try {
      await opened;
    } finally {
      receiver.removeAllListeners();
      receiver.on('receiver_error', () => undefined);
      if (this.connection.current() === live) receiver.detach();
    }
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    this.assertOpen();
    assertTopicName(params.topic);
    assertGroupName(params.group);
    assertConcurrency(params.concurrency);
    const fqqn = this.names.fqqn(params.topic, params.group);
    const subscription = new Amqp10Subscription(params, fqqn, this.deps);
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      await subscription.close();
      throw error;
    }
    this.ensured.set(fqqn, Promise.resolve());
    return {
      stop: () => subscription.stop(),
      close: async () => {
        this.subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  /** Depth from Artemis' queue counts (its management API; the user needs the `manage` permission). */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.assertOpen();
    assertTopicName(topic);
    if (group !== undefined) assertGroupName(group);
    return inspectTopic(this.management, this.names, topic, group);
  }

  /**
   * Destroy the group's queue (management `destroyQueue`), refused with a ConfigError while the queue
   * has a consumer (any process's). A queue that does not exist is already deleted.
   */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    assertTopicName(topic);
    assertGroupName(group);
    const queue = this.names.queue(topic, group);
    let consumers: number;
    try {
      consumers = Number(await this.management.attribute(`queue.${queue}`, 'consumerCount'));
    } catch (error) {
      if (isMissingResource(error)) return;
      throw error;
    }
    if (consumers > 0) throw new ConfigError('group', `group "${group}" of topic "${topic}" has ${consumers} consumer${consumers === 1 ? '' : 's'}: close its subscriptions before deleting it`);
    this.ensured.delete(this.names.fqqn(topic, group));
    try {
      await this.management.operation('broker', 'destroyQueue', [queue]);
    } catch (error) {
      // Gone meanwhile (AMQ229017).
      if (!isMissingResource(error)) throw error;
    }
  }

  health(): TransportHealth {
    return this.connection.health();
  }

  async brokerInfo(): Promise<BrokerInfo> {
    await this.connect();
    const properties = this.connection.peerInfo?.properties ?? {};
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    const details: Record<string, string> = {};
    const capabilities = this.connection.peerInfo?.capabilities ?? [];
    if (capabilities.length > 0) details.capabilities = capabilities.join(', ');
    return { product: text(properties.product) ?? 'AMQP 1.0 broker', version: text(properties.version), details };
  }

  close(): Promise<void> {
    const { lifecycle } = this;
    if (lifecycle.phase === 'closing') return lifecycle.done;
    if (lifecycle.phase === 'closed') return Promise.resolve();
    const done = this.closeNow();
    this.lifecycle = { phase: 'closing', done };
    return done;
  }

  private async closeNow(): Promise<void> {
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.allSettled(subscriptions.map((subscription) => subscription.close()));
    await this.publisher.close(this.config.options.closeTimeoutMs);
    this.management.close();
    await this.connection.close();
    this.lifecycle = { phase: 'closed' };
    this.logger.debug({ url: this.config.safeUrl }, 'omnibus amqp10: closed');
  }
}
