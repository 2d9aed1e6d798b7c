import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ListQueuesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { pause } from '@omnibus/core';
import { isQueueMissing } from './client.js';
import { QueueNames } from './names.js';
import type { SqsOptions } from './options.js';

/** Queue tags naming what a queue is for (group queue names hold hashes). */
export const Tags = { topic: 'omnibus-topic', group: 'omnibus-group' } as const;

interface Listing {
  /** Queue URL by queue name. */
  readonly queues: Map<string, string>;
  /** When the ListQueues of this listing was sent (what it shows is at least this fresh). */
  readonly at: number;
}

/**
 * The groups of each topic, for fan-out on publish. SQS has no topic of its own here (ElasticMQ
 * has no SNS): a topic is the set of its groups' queues, found by ListQueues with the topic's
 * queue-name prefix (names.ts), and publish sends to each.
 *
 * Consistency: a publisher uses a listing for at most `groupCacheMs` (counted from when its
 * ListQueues was sent). A group created by `ensure` is added to this process's listings at once,
 * and `ensure` resolves only `groupCacheMs + listingLagMs` after the queue was created: by then
 * every publisher, in any process, lists again before it publishes, and that listing shows the
 * queue. So a message published after subscribe()/ensureGroup() resolved reaches the group.
 */
export class GroupRegistry {
  private readonly listings = new Map<string, Listing>();
  private readonly listing = new Map<string, Promise<Listing>>();
  /** Queues this registry made sure of, by name: their URL, and when ensure may resolve. */
  private readonly ensured = new Map<string, { readonly url: string; readonly settledAt: number }>();

  constructor(
    private readonly client: SQSClient,
    private readonly names: QueueNames,
    private readonly options: SqsOptions,
    private readonly listingLagMs: number,
  ) {}

  /** The URLs of the queues of every group of `topic`, at most groupCacheMs old. */
  async queuesOf(topic: string): Promise<string[]> {
    const cached = this.listings.get(topic);
    if (cached && Date.now() - cached.at < this.options.groupCacheMs) return [...cached.queues.values()];
    let pending = this.listing.get(topic);
    if (!pending) {
      pending = this.list(topic).finally(() => this.listing.delete(topic));
      this.listing.set(topic, pending);
    }
    return [...(await pending).queues.values()];
  }

  /** The group's queue is gone (deleted): publishes stop going there until a listing shows it again. */
  forget(queueUrl: string): void {
    const name = QueueNames.nameOf(queueUrl);
    for (const listing of this.listings.values()) listing.queues.delete(name);
    this.ensured.delete(name);
  }

  /** Forget what this registry ensured of a group (after deleteGroup). */
  forgetGroup(topic: string, group: string): void {
    const name = this.names.queue(topic, group);
    this.listings.get(topic)?.queues.delete(name);
    this.ensured.delete(name);
  }

  /**
   * Create the group's queue if missing (idempotent), and resolve once every publisher sees it
   * (see the class comment). Returns the queue URL.
   */
  async ensure(topic: string, group: string): Promise<string> {
    const name = this.names.queue(topic, group);
    const known = this.ensured.get(name);
    if (known) {
      await pause(known.settledAt - Date.now());
      return known.url;
    }
    const url = await this.createQueue(name, topic, group);
    const createdAt = await this.createdAt(url);
    const settledAt = createdAt + this.options.groupCacheMs + this.listingLagMs;
    this.ensured.set(name, { url, settledAt });
    const listing = this.listings.get(topic);
    if (listing) listing.queues.set(name, url);
    await pause(settledAt - Date.now());
    return url;
  }

  /** The URL of the group's queue if it exists (never creates it). */
  async urlOf(topic: string, group: string): Promise<string | undefined> {
    const name = this.names.queue(topic, group);
    try {
      return (await this.client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;
    } catch (error) {
      if (isQueueMissing(error)) return undefined;
      throw error;
    }
  }

  private async list(topic: string): Promise<Listing> {
    const at = Date.now();
    const queues = new Map<string, string>();
    let NextToken: string | undefined;
    do {
      const page = await this.client.send(new ListQueuesCommand({ QueueNamePrefix: this.names.topicPrefix(topic), MaxResults: 1000, NextToken }));
      for (const url of page.QueueUrls ?? []) queues.set(QueueNames.nameOf(url), url);
      NextToken = page.NextToken;
    } while (NextToken);
    // Queues this process created since the listing was sent may be missing from it (listing lag).
    for (const [name, { url }] of this.ensured) if (name.startsWith(this.names.topicPrefix(topic))) queues.set(name, url);
    const listing = { queues, at };
    this.listings.set(topic, listing);
    return listing;
  }

  private async createQueue(name: string, topic: string, group: string): Promise<string> {
    const attributes = {
      VisibilityTimeout: String(this.options.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(this.options.retentionSeconds),
    };
    try {
      const created = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes, tags: { [Tags.topic]: topic, [Tags.group]: group } }));
      if (created.QueueUrl) return created.QueueUrl;
    } catch (error) {
      // Created earlier with other attributes (another retention or lease): use it as it is.
      if ((error as { name?: string }).name !== 'QueueAlreadyExists' && (error as { name?: string }).name !== 'QueueNameExists') throw error;
    }
    const found = await this.client.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!found.QueueUrl) throw new Error(`SQS returned no URL for queue "${name}"`);
    return found.QueueUrl;
  }

  /**
   * When the queue was created, as late as it can have been: SQS gives whole seconds, so the end of
   * that second, but never later than now (it exists now).
   */
  private async createdAt(url: string): Promise<number> {
    const now = Date.now();
    const reply = await this.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['CreatedTimestamp'] }));
    const seconds = Number(reply.Attributes?.CreatedTimestamp);
    if (!Number.isFinite(seconds)) return now;
    return Math.min(seconds * 1000 + 1000, now);
  }
}
