import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { backoffDelay, ConnectionError, exponentialBackoff, MessageTooLargeError, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import type { Batcher } from './batcher.js';
import { isQueueMissing, isReceiptGone, isTransient, safeError, type SqsSettings } from './client.js';
import { decodeMessage } from './codec.js';
import { SqsDelivery, type DeliveryOwner } from './delivery.js';
import type { RequestHealth } from './health.js';
import type { SqsOptions } from './options.js';
import { encodeOutgoing, sendEntry, type Sender } from './publisher.js';
import type { GroupRegistry } from './registry.js';

export interface ReceiptEntry {
  readonly ReceiptHandle: string;
}
export interface VisibilityEntry {
  readonly ReceiptHandle: string;
  readonly VisibilityTimeout: number;
}

/** What a subscription shares with its transport. */
export interface SubscriptionContext {
  readonly client: SQSClient;
  readonly settings: SqsSettings;
  readonly options: SqsOptions;
  readonly logger: Logger;
  readonly health: RequestHealth;
  readonly registry: GroupRegistry;
  readonly sender: Sender;
  readonly deletes: Batcher<ReceiptEntry>;
  readonly visibility: Batcher<VisibilityEntry>;
  /** False once the transport closed its client: settling is then without effect. */
  readonly isOpen: () => boolean;
}

/** Visibility may be extended to 12 hours after a receive; a nack delay beyond what is left of that is sent as a copy. */
const MAX_VISIBILITY_MS = 12 * 3_600_000;
/** A message due within this long is handed over rather than sent on for another hop. */
const DUE_TOLERANCE_MS = 50;

/**
 * Where a subscription is. Each transition is one method:
 * - `starting` → `running`: start() made sure of the group's queue and started the pollers;
 * - `running` → `stopping` → `stopped`: stop() (long polls in flight are aborted; no hand-over after);
 * - → `closing` → `closed`: close() (after stop: unsettled deliveries are made visible again).
 */
type State = 'starting' | 'running' | 'stopping' | 'stopped' | 'closing' | 'closed';

/**
 * One consumer of a group's queue: up to `pollers` ReceiveMessage long polls at once, each asking
 * for at most 10 messages and never for more than the room left under `concurrency` (room is
 * reserved before a poll, so unsettled + asked-for never exceeds it). Every unsettled delivery's
 * visibility is extended every third of the visibility timeout (ChangeMessageVisibilityBatch).
 */
export class SqsSubscription implements TransportSubscription, DeliveryOwner {
  private state: State = 'starting';
  private queueUrl = '';
  private readonly unsettled = new Set<SqsDelivery>();
  private reserved = 0;
  private loops: Promise<void>[] = [];
  private waiters: (() => void)[] = [];
  private leaseTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly ctx: SubscriptionContext,
    private readonly params: SubscribeParams,
    private readonly onClosed: (subscription: SqsSubscription) => void,
  ) {}

  reads(topic: string, group: string): boolean {
    return this.params.topic === topic && this.params.group === group;
  }

  /** starting → running. */
  async start(): Promise<void> {
    this.queueUrl = await this.ctx.registry.ensure(this.params.topic, this.params.group);
    if (this.state !== 'starting') return;
    this.state = 'running';
    const pollers = Math.min(this.ctx.options.pollers, Math.ceil(this.params.concurrency / 10));
    this.loops = Array.from({ length: pollers }, () => this.poll());
    const every = Math.max(500, Math.floor((this.ctx.options.visibilityTimeoutSeconds * 1000) / 3));
    this.leaseTimer = setInterval(() => this.extendLeases(), every);
    this.leaseTimer.unref();
  }

  /** Resolves once every long poll of this subscription ended (and what it brought after stop was made visible again). */
  polling(): Promise<void> {
    return Promise.allSettled(this.loops).then(() => undefined);
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopPolling();
    return this.stopping;
  }

  close(): Promise<void> {
    this.closing ??= this.release();
    return this.closing;
  }

  // --- DeliveryOwner -------------------------------------------------------------

  ack(delivery: SqsDelivery): Promise<void> {
    this.free(delivery);
    if (!this.ctx.isOpen()) return Promise.resolve();
    return this.ctx.deletes.add(this.queueUrl, { ReceiptHandle: delivery.receiptHandle }, this.leaseDeadline()).catch((error: unknown) => {
      if (!isReceiptGone(unwrap(error))) this.report(error, 'deleting an acknowledged message failed (it will be delivered again)');
    });
  }

  async nack(delivery: SqsDelivery, delayMs: number, headers: NackOptions['headers']): Promise<void> {
    this.free(delivery);
    if (!this.ctx.isOpen()) return;
    const { message } = delivery;
    const changed = headers !== undefined && Object.keys(headers).some((name) => message.headers[name] !== headers[name]);
    const fitsVisibility = Date.now() + delayMs - delivery.receivedAt < MAX_VISIBILITY_MS - 60_000;
    if (!changed && fitsVisibility) return this.makeVisible(delivery, Math.ceil(delayMs / 1000));
    // Other headers, or a delay beyond what visibility can hold: a copy that starts at the next attempt.
    let copy;
    try {
      copy = encodeOutgoing({ ...message, headers: { ...message.headers, ...headers }, delayMs }, undefined, this.ctx.options.brokerMaxMessageBytes, { attempt: delivery.attempt + 1 });
    } catch (error) {
      if (!(error instanceof MessageTooLargeError) || !fitsVisibility) throw error;
      return this.makeVisible(delivery, Math.ceil(delayMs / 1000));
    }
    try {
      await this.ctx.sender.batcher.add(this.queueUrl, sendEntry(copy.encoded, copy.delaySeconds), Date.now() + this.ctx.options.publishTimeoutMs, copy.encoded.bytes);
    } catch (error) {
      // The original stays: it comes back when its visibility ends, with the attempt counted.
      this.report(error, 'sending the retry of a message failed (it will be delivered again when its visibility timeout ends)');
      return;
    }
    await this.ctx.deletes.add(this.queueUrl, { ReceiptHandle: delivery.receiptHandle }, this.leaseDeadline()).catch((error: unknown) => {
      if (!isReceiptGone(unwrap(error))) this.report(error, 'deleting a retried message failed (it will be delivered again besides its retry)');
    });
  }

  private makeVisible(delivery: SqsDelivery, seconds: number): Promise<void> {
    return this.ctx.visibility.add(this.queueUrl, { ReceiptHandle: delivery.receiptHandle, VisibilityTimeout: seconds }, this.leaseDeadline()).catch((error: unknown) => {
      if (!isReceiptGone(unwrap(error))) this.report(error, 'releasing a message failed (it will be delivered again when its visibility timeout ends)');
    });
  }

  private free(delivery: SqsDelivery): void {
    this.unsettled.delete(delivery);
    this.wake();
  }

  /** Operations on a receipt are worth retrying until the lease would end anyway. */
  private leaseDeadline(): number {
    return Date.now() + this.ctx.options.visibilityTimeoutSeconds * 1000;
  }

  // --- polling -------------------------------------------------------------------

  private get room(): number {
    return this.params.concurrency - this.unsettled.size - this.reserved;
  }

  private async poll(): Promise<void> {
    const { options } = this.ctx;
    const backoff = exponentialBackoff(options.reconnect.initialDelayMs, options.reconnect.maxDelayMs, { jitter: true });
    let failures = 0;
    while (this.state === 'running') {
      const asked = Math.min(10, this.room);
      if (asked <= 0) {
        await this.waitForRoom();
        continue;
      }
      this.reserved += asked;
      let messages: Message[];
      try {
        messages = await this.receive(asked);
        failures = 0;
        this.ctx.health.succeeded();
      } catch (error) {
        this.reserved -= asked;
        if (this.state !== 'running') break;
        failures += 1;
        if (isQueueMissing(error)) {
          await this.recreateQueue().catch((cause: unknown) => this.report(cause, 'recreating the group queue failed'));
        } else {
          if (isTransient(error)) this.ctx.health.failed(error);
          this.report(error, 'receiving from SQS failed, retrying');
        }
        await this.sleep(backoffDelay(backoff, failures));
        continue;
      }
      this.reserved -= asked;
      for (const message of messages) this.take(message);
    }
  }

  private async receive(asked: number): Promise<Message[]> {
    const { options } = this.ctx;
    const reply = await this.ctx.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: asked,
        WaitTimeSeconds: options.waitTimeSeconds,
        VisibilityTimeout: options.visibilityTimeoutSeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
      { requestTimeout: options.waitTimeSeconds * 1000 + options.requestTimeoutMs },
    );
    return reply.Messages ?? [];
  }

  /** One received message: handed over, sent on (a long delay not due yet), or (stopped meanwhile) made visible again. */
  private take(received: Message): void {
    const receiptHandle = received.ReceiptHandle;
    if (!receiptHandle) return;
    const receivedAt = Date.now();
    const { message, state } = decodeMessage(this.params.topic, received);
    const receiveCount = Math.max(1, Number(received.Attributes?.ApproximateReceiveCount) || 1);
    const attempt = (state.a ?? 1) + receiveCount - 1;
    if (state.d !== undefined && state.d - receivedAt > DUE_TOLERANCE_MS) {
      void this.hop(message, state.a ?? 1, state.d - receivedAt, receiptHandle);
      return;
    }
    const delivery = new SqsDelivery(message, attempt, { messageId: received.MessageId ?? '', receiveCount }, receiptHandle, receivedAt, this);
    if (this.state !== 'running') {
      // Stopped while this poll was answered: never handed over, visible again at once.
      delivery.abandon();
      void this.makeVisible(delivery, 0);
      return;
    }
    this.unsettled.add(delivery);
    try {
      this.params.onDelivery(delivery);
    } catch (error) {
      this.params.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Send a message that is not due yet on for another delay of up to 15 minutes (its attempt unchanged), then delete this copy. */
  private async hop(message: SqsDelivery['message'], attempt: number, remainingMs: number, receiptHandle: string): Promise<void> {
    try {
      const copy = encodeOutgoing({ ...message, delayMs: remainingMs }, undefined, this.ctx.options.brokerMaxMessageBytes, { attempt });
      await this.ctx.sender.batcher.add(this.queueUrl, sendEntry(copy.encoded, copy.delaySeconds), Date.now() + this.ctx.options.publishTimeoutMs, copy.encoded.bytes);
      await this.ctx.deletes.add(this.queueUrl, { ReceiptHandle: receiptHandle }, this.leaseDeadline());
    } catch (error) {
      this.report(error, 'sending a delayed message on failed (it is received again when its visibility timeout ends)');
    }
  }

  private extendLeases(): void {
    if (!this.ctx.isOpen()) return;
    const seconds = this.ctx.options.visibilityTimeoutSeconds;
    const deadline = this.leaseDeadline();
    for (const delivery of this.unsettled) {
      if (Date.now() - delivery.receivedAt + seconds * 1000 >= MAX_VISIBILITY_MS) continue;
      this.ctx.visibility.add(this.queueUrl, { ReceiptHandle: delivery.receiptHandle, VisibilityTimeout: seconds }, deadline).catch((error: unknown) => {
        this.ctx.logger.debug({ err: safeError(unwrap(error), this.ctx.settings.secrets), topic: this.params.topic, group: this.params.group }, 'omnibus sqs: extending a lease failed');
      });
    }
  }

  private async recreateQueue(): Promise<void> {
    const { topic, group } = this.params;
    this.ctx.registry.forgetGroup(topic, group);
    this.queueUrl = await this.ctx.registry.ensure(topic, group);
    const error = new Error(`the queue of group "${group}" of topic "${topic}" was missing in SQS (deleted, or the broker lost its data) and was created again`);
    this.ctx.logger.warn({ topic, group }, `omnibus sqs: ${error.message}`);
    this.params.onError(error);
  }

  private waitForRoom(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.waiters.push(done);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  private wake(): void {
    const waiters = this.waiters.splice(0);
    for (const waiter of waiters) waiter();
  }

  // --- stop, close ---------------------------------------------------------------

  /**
   * → stopping → stopped. No hand-over happens from `stopping` on, so this resolves at once. Long
   * polls in flight are not aborted: SQS may still hand messages to a poll whose connection is
   * gone, and they would stay invisible for a whole visibility timeout. They end within
   * waitTimeSeconds, and what they bring is made visible again (the transport keeps its client
   * until they ended: see polling()).
   */
  private async stopPolling(): Promise<void> {
    if (this.state === 'starting' || this.state === 'running') this.state = 'stopping';
    this.wake();
    this.state = 'stopped';
  }

  /** → closing → closed (after stop). Unsettled deliveries are made visible at once (their next receive counts an attempt). */
  private async release(): Promise<void> {
    await this.stop();
    this.state = 'closing';
    clearInterval(this.leaseTimer);
    await Promise.all([...this.unsettled].map((delivery) => delivery.nack()));
    this.state = 'closed';
    this.onClosed(this);
  }

  private report(error: unknown, what: string): void {
    const { topic, group } = this.params;
    const cause = safeError(unwrap(error), this.ctx.settings.secrets);
    try {
      this.params.onError(new ConnectionError(`sqs ${topic}/${group}: ${what}: ${cause.message}`, { cause }));
    } catch {
      // onError must not break the loop.
    }
  }
}

function unwrap(error: unknown): unknown {
  return (error as { last?: unknown })?.last ?? error;
}
