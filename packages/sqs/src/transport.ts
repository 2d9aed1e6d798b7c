import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ListQueuesCommand, ListQueueTagsCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  assertConcurrency,
  backoffDelay,
  pause,
  assertHeaderValues,
  ClosedError,
  ConfigError,
  ConnectionError,
  exponentialBackoff,
  type BrokerInfo,
  type Logger,
  type OutgoingMessage,
  type SubscribeParams,
  type Transport,
  type TransportHealth,
  type TransportInit,
  type TransportInspection,
  type TransportSubscription,
} from '@omnibus/core';
import { Batcher, MAX_BATCH_ENTRIES, type EntryOutcome } from './batcher.js';
import { sqsCapabilities } from './capabilities.js';
import { createSqsClient, isQueueMissing, isReceiptGone, isTransient, safeError, safeMessage, sqsSettings, type SqsSettings } from './client.js';
import { RequestHealth } from './health.js';
import { QueueNames } from './names.js';
import { parseSqsOptions, type SqsOptions } from './options.js';
import { byDeadline, encodeOutgoing, Sender, sendEntry } from './publisher.js';
import { GroupRegistry, Tags } from './registry.js';
import { SqsSubscription, type ReceiptEntry, type SubscriptionContext, type VisibilityEntry } from './subscription.js';
import { parseSqsUrl } from './url.js';

/**
 * Where the transport is; each transition is one method:
 * - `open` (from creation: SQS is HTTP, requests need no connection first; connect() checks the broker answers);
 * - → `closing` → `closed`: close() (subscriptions release their deliveries, queued acks go out, the client is destroyed).
 */
type State = 'open' | 'closing' | 'closed';

/** `createTransport({ url: 'sqs://…', options, logger })`: the Amazon SQS transport. */
export function createTransport(init: TransportInit): Transport {
  return new SqsTransport(init);
}

export class SqsTransport implements Transport {
  readonly name = 'sqs';
  readonly capabilities = sqsCapabilities;
  private readonly options: SqsOptions;
  private readonly settings: SqsSettings;
  private readonly names: QueueNames;
  private readonly logger: Logger;
  private readonly client: SQSClient;
  private readonly registry: GroupRegistry;
  private readonly health_: RequestHealth;
  private readonly sender: Sender;
  private readonly deletes: Batcher<ReceiptEntry>;
  private readonly visibility: Batcher<VisibilityEntry>;
  private readonly subscriptions = new Set<SqsSubscription>();
  private state: State = 'open';
  private connected: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(init: TransportInit) {
    this.options = parseSqsOptions(init.options);
    const url = parseSqsUrl(init.url);
    this.settings = sqsSettings(url, this.options);
    this.names = new QueueNames(this.options.prefix);
    this.logger = init.logger;
    this.client = createSqsClient(url, this.options);
    this.health_ = new RequestHealth((error) => safeMessage(error, this.settings.secrets));
    this.registry = new GroupRegistry(this.client, this.names, this.options, this.settings.listingLagMs);
    const backoff = exponentialBackoff(this.options.reconnect.initialDelayMs, this.options.reconnect.maxDelayMs, { jitter: true });
    const health = this.health_;
    this.sender = new Sender(this.client, this.settings, this.options.brokerMaxMessageBytes, backoff, health, (queueUrl) => this.queueGone(queueUrl));
    const receiptBatcher = <E extends ReceiptEntry>(call: (queueUrl: string, entries: (E & { Id: string })[]) => Promise<{ Successful?: { Id?: string | undefined }[] | undefined; Failed?: { Id?: string | undefined; Code?: string | undefined; Message?: string | undefined; SenderFault?: boolean | undefined }[] | undefined }>) =>
      new Batcher<E>({
        maxBytes: Number.MAX_SAFE_INTEGER,
        backoff,
        onSuccess: () => health.succeeded(),
        onTransientFailure: (error) => health.failed(error),
        call: async (queueUrl, entries) => {
          try {
            return outcomesOf(entries.length, await call(queueUrl, entries.map((entry, index) => ({ ...entry, Id: String(index) }))));
          } catch (error) {
            // The queue is gone (deleted): so is the message; nothing left to settle.
            if (isQueueMissing(error)) return entries.map(() => ({ ok: true }) as const);
            throw error;
          }
        },
      });
    this.deletes = receiptBatcher<ReceiptEntry>((QueueUrl, Entries) => this.client.send(new DeleteMessageBatchCommand({ QueueUrl, Entries })));
    this.visibility = receiptBatcher<VisibilityEntry>((QueueUrl, Entries) => this.client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl, Entries })));
  }

  /** One ListQueues round trip: the broker answers and accepts the credentials. */
  connect(): Promise<void> {
    this.assertOpen();
    this.connected ??= (async () => {
      try {
        await this.client.send(new ListQueuesCommand({ QueueNamePrefix: this.names.prefix, MaxResults: 1 }));
        this.health_.succeeded();
      } catch (error) {
        this.connected = undefined;
        this.health_.failed(error);
        throw new ConnectionError(`cannot reach SQS at ${this.settings.display}: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
      }
    })();
    return this.connected;
  }

  /**
   * Every message to the queue of every group of its topic, in SendMessageBatch calls of up to 10
   * (coalesced with other publishes of the same event-loop turn). Resolves once every queue
   * accepted every message; rejects with a PublishError (cause ConnectionError while SQS is
   * unreachable) after `publishTimeoutMs`. A topic without groups keeps nothing.
   */
  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    this.assertOpen();
    const encoded = messages.map((message, index) => {
      assertHeaderValues(message.headers, 'headers');
      return encodeOutgoing(message, messages.length > 1 ? index : undefined, this.options.brokerMaxMessageBytes);
    });
    if (messages.length === 0) return;
    const topic = messages[0]?.topic ?? '';
    const deadline = Date.now() + this.options.publishTimeoutMs;
    const work = (async () => {
      const topics = [...new Set(messages.map((message) => message.topic))];
      const queues = new Map(await Promise.all(topics.map(async (name) => [name, await this.queuesOf(name, deadline)] as const)));
      const items = messages.flatMap((message, index) => {
        const { encoded: body, delaySeconds } = encoded[index] as (typeof encoded)[number];
        const entry = sendEntry(body, delaySeconds);
        return (queues.get(message.topic) ?? []).map((queueUrl) => ({ queueUrl, entry, bytes: body.bytes, topic: message.topic }));
      });
      await this.sender.sendAll(items, deadline);
    })();
    await byDeadline(work, deadline, this.settings, topic);
  }

  /** The topic's group queues, listing again on transient failures until the deadline. */
  private async queuesOf(topic: string, deadline: number): Promise<string[]> {
    const backoff = exponentialBackoff(this.options.reconnect.initialDelayMs, this.options.reconnect.maxDelayMs, { jitter: true });
    for (let failures = 1; ; failures++) {
      try {
        const queues = await this.registry.queuesOf(topic);
        this.health_.succeeded();
        return queues;
      } catch (error) {
        if (!isTransient(error) || Date.now() >= deadline) throw this.sender.publishError(error, topic);
        this.health_.failed(error);
        await pause(backoffDelay(backoff, failures));
        this.assertOpen();
      }
    }
  }

  private queueGone(queueUrl: string): void {
    this.registry.forget(queueUrl);
  }

  async ensureGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    this.names.queue(topic, group);
    try {
      await this.registry.ensure(topic, group);
    } catch (error) {
      throw new ConnectionError(`creating group "${group}" of topic "${topic}" in SQS failed: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
    }
  }

  async subscribe(params: SubscribeParams): Promise<TransportSubscription> {
    this.assertOpen();
    assertConcurrency(params.concurrency, 'concurrency');
    this.names.queue(params.topic, params.group);
    const subscription = new SqsSubscription(this.context(), params, (closed) => this.subscriptions.delete(closed));
    this.subscriptions.add(subscription);
    try {
      await subscription.start();
    } catch (error) {
      this.subscriptions.delete(subscription);
      await subscription.close().catch(() => {});
      throw new ConnectionError(`subscribing to "${params.topic}" as group "${params.group}" failed: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
    }
    if (this.state !== 'open') {
      await subscription.close();
      throw new ClosedError('the sqs transport is closed');
    }
    return subscription;
  }

  /**
   * Per group, SQS' approximate counts (GetQueueAttributes): waiting (visible), in flight (not
   * visible: received and not deleted) and delayed (DelaySeconds or a delayed redelivery). Never
   * creates a queue.
   */
  async inspect(topic: string, group?: string): Promise<TransportInspection> {
    this.assertOpen();
    const readAt = new Date();
    try {
      let queues: { group: string; url: string }[];
      if (group !== undefined) {
        const url = await this.registry.urlOf(topic, group);
        queues = url ? [{ group, url }] : [];
        if (!url) return { topic, readAt, delayed: undefined, groups: [{ group, waiting: zero, inFlight: zero, delayed: zero, lag: undefined }] };
      } else {
        const urls = await this.registry.queuesOf(topic);
        queues = await Promise.all(urls.map(async (url) => ({ url, group: (await this.client.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags?.[Tags.group] ?? url })));
      }
      const groups = await Promise.all(
        queues.map(async ({ group: name, url }) => {
          const { Attributes: a = {} } = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }));
          const count = (value: string | undefined) => ({ value: Number(value ?? 0), exact: false });
          return { group: name, waiting: count(a.ApproximateNumberOfMessages), inFlight: count(a.ApproximateNumberOfMessagesNotVisible), delayed: count(a.ApproximateNumberOfMessagesDelayed), lag: undefined };
        }),
      );
      return { topic, readAt, delayed: undefined, groups };
    } catch (error) {
      throw new ConnectionError(`inspecting topic "${topic}" in SQS failed: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
    }
  }

  /**
   * Delete the group's queue (and with it what was kept for it). Idempotent. Refused (a
   * ConfigError naming `group`) while one of this transport's subscriptions reads it. Amazon SQS
   * refuses to create a queue of the same name for 60 s after (ElasticMQ does not).
   */
  async deleteGroup(topic: string, group: string): Promise<void> {
    this.assertOpen();
    this.names.queue(topic, group);
    if ([...this.subscriptions].some((subscription) => subscription.reads(topic, group))) {
      throw new ConfigError('group', `"${group}" of topic "${topic}" is still read by an open subscription of this transport: close it before deleting the group`);
    }
    try {
      const url = await this.registry.urlOf(topic, group);
      if (url) await this.client.send(new DeleteQueueCommand({ QueueUrl: url }));
      this.registry.forgetGroup(topic, group);
    } catch (error) {
      if (isQueueMissing(error)) return;
      throw new ConnectionError(`deleting group "${group}" of topic "${topic}" in SQS failed: ${safeMessage(error, this.settings.secrets)}`, { cause: safeError(error, this.settings.secrets) });
    }
  }

  /** SQS has no call that names the server or its version: the product only. */
  async brokerInfo(): Promise<BrokerInfo> {
    await this.connect();
    return { product: this.settings.customEndpoint ? 'SQS-compatible endpoint' : 'Amazon SQS', version: undefined, details: { endpoint: this.settings.display } };
  }

  health(): TransportHealth {
    return this.health_.health();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** → closing → closed. */
  private async shutdown(): Promise<void> {
    this.state = 'closing';
    const subscriptions = [...this.subscriptions];
    await Promise.allSettled(subscriptions.map((subscription) => subscription.close()));
    this.subscriptions.clear();
    // Acks and releases already queued go out before the client goes.
    await Promise.all([this.deletes.idle(2_000), this.visibility.idle(2_000), this.sender.batcher.idle(2_000)]);
    this.state = 'closed';
    const closed = new ClosedError('the sqs transport is closed');
    this.deletes.abandon(closed);
    this.visibility.abandon(closed);
    this.sender.batcher.abandon(closed);
    this.health_.closed();
    // Long polls still in flight are not cut (SQS could hand messages to a poll whose connection is
    // gone: invisible for a visibility timeout). The client goes once they ended, within
    // waitTimeSeconds, and what they brought was made visible again.
    void Promise.all(subscriptions.map((subscription) => subscription.polling()))
      .then(() => this.visibility.idle(5_000))
      .finally(() => this.client.destroy());
  }

  private context(): SubscriptionContext {
    return {
      client: this.client,
      settings: this.settings,
      options: this.options,
      logger: this.logger,
      health: this.health_,
      registry: this.registry,
      sender: this.sender,
      deletes: this.deletes,
      visibility: this.visibility,
      isOpen: () => this.state !== 'closed',
    };
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new ClosedError('the sqs transport is closed');
  }
}

const zero = { value: 0, exact: true } as const;

/** Per entry of a batch call (Ids are the entries' indexes): done, retried (the broker's fault), or refused; a receipt SQS no longer honours counts as done. */
function outcomesOf(count: number, reply: { Successful?: { Id?: string | undefined }[] | undefined; Failed?: { Id?: string | undefined; Code?: string | undefined; Message?: string | undefined; SenderFault?: boolean | undefined }[] | undefined }): EntryOutcome[] {
  const outcomes: EntryOutcome[] = Array.from({ length: Math.min(count, MAX_BATCH_ENTRIES) }, () => ({ ok: false, error: new Error('SQS answered nothing for this entry'), retry: true }));
  for (const ok of reply.Successful ?? []) outcomes[Number(ok.Id)] = { ok: true };
  for (const failed of reply.Failed ?? []) {
    const error = Object.assign(new Error(`${failed.Code ?? 'failed'}: ${failed.Message ?? ''}`), { name: failed.Code ?? 'Error' });
    outcomes[Number(failed.Id)] = isReceiptGone(error) ? { ok: true } : { ok: false, error, retry: !failed.SenderFault };
  }
  return outcomes;
}
