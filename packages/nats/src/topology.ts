import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ConfigError, type TopicBound } from '@omnibus/core';
import { boundLimits, describeBound, overLimits, sameLimits } from './bound.js';
import { isConsumerNotFound, isStreamNotFound } from './errors.js';
import { DELAY_MOVER, type Naming } from './naming.js';
import type { NatsOptions } from './options.js';

/** Is this consumer one the transport made for a group of `subject`: a pull consumer filtering exactly that subject? */
export function isOmnibusPullConsumer(info: ConsumerInfo, subject: string): boolean {
  return (info.config.filter_subject ?? '') === subject && !info.config.deliver_subject;
}

/**
 * Creates streams and durable consumers on demand, once per transport (cached), and
 * checks that what it finds is ours: a stream with another subject is a name
 * collision, a consumer with another filter belongs to someone else.
 */
export class Topology {
  private readonly streams = new Map<string, Promise<void>>();
  private readonly consumers = new Map<string, Promise<void>>();
  /** Bounds of bounded topics (Transport.declareTopic), by topic: their streams are made and kept so. */
  private readonly bounds = new Map<string, TopicBound>();

  constructor(
    private readonly jsm: () => JetStreamManager,
    private readonly naming: Naming,
    private readonly options: NatsOptions,
  ) {}

  /**
   * The topic's stream exists (created if missing). A bounded topic's stream has interest
   * retention whatever `options.retention` says (the bound must count what some group still has
   * to settle, not what every group acked long ago) and the bound's limits (see bound.ts); an
   * existing one is checked and, where JetStream allows it, updated to the bound.
   */
  ensureStream(topic: string): Promise<void> {
    const name = this.naming.stream(topic);
    const subject = this.naming.subject(topic);
    const bound = this.bounds.get(topic);
    const retention = bound || this.options.retention === 'interest' ? RetentionPolicy.Interest : RetentionPolicy.Limits;
    return this.once(this.streams, this.streamKey(name, subject), () =>
      this.createStream(
        {
          name,
          subjects: [subject],
          description: `Omnibus topic ${topic}`,
          retention,
          ...this.limits(),
          ...(bound ? boundLimits(bound, this.options.maxBytes) : {}),
        },
        bound ? (existing) => this.applyBound(topic, bound, existing) : undefined,
      ),
    );
  }

  /**
   * From now on the topic's stream keeps `bound`: created with it, or an existing stream
   * checked and updated (see applyBound). The latest declaration wins.
   */
  declareBound(topic: string, bound: TopicBound): Promise<void> {
    this.bounds.set(topic, bound);
    // A stream ensured before (unbounded, or with another bound) must be checked again.
    this.streams.delete(this.streamKey(this.naming.stream(topic), this.naming.subject(topic)));
    return this.ensureStream(topic);
  }

  /** The bound declared for the topic, if any. */
  boundOf(topic: string): TopicBound | undefined {
    return this.bounds.get(topic);
  }

  /** The stream that holds delayed messages until they are due (a work queue: removed once moved). */
  ensureDelayStream(): Promise<void> {
    const name = this.naming.delayStream;
    return this.once(this.streams, name, () =>
      this.createStream({
        name,
        subjects: [this.naming.delayWildcard],
        description: 'Omnibus delayed messages, moved to their topic when due',
        retention: RetentionPolicy.Workqueue,
        ...this.limits(),
      }),
    );
  }

  /**
   * The group's durable consumer exists, with max_ack_pending ≥ `concurrency`. A new
   * group starts at the next message (`deliver_policy: new`): from now on, the
   * stream keeps the topic's messages for it.
   */
  async ensureGroup(topic: string, group: string, concurrency = 1): Promise<void> {
    await this.ensureStream(topic);
    const stream = this.naming.stream(topic);
    const subject = this.naming.subject(topic);
    await this.once(this.consumers, `${stream}/${group}/${concurrency}`, () =>
      this.createConsumer(stream, {
        durable_name: group,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.New,
        replay_policy: ReplayPolicy.Instant,
        ack_wait: nanos(this.options.ackWaitMs),
        // Core's retry policy decides when a message is dead-lettered; the server must never
        // give up on a message on its own (it would drop it silently).
        max_deliver: -1,
        max_ack_pending: Math.max(this.options.maxAckPending, concurrency),
      }),
    );
  }

  /** The consumer that moves delayed messages; unlimited ack pending, as every waiting message is pending. */
  async ensureDelayMover(): Promise<void> {
    await this.ensureDelayStream();
    const stream = this.naming.delayStream;
    await this.once(this.consumers, `${stream}/${DELAY_MOVER}`, () =>
      this.createConsumer(stream, {
        durable_name: DELAY_MOVER,
        filter_subject: this.naming.delayWildcard,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        replay_policy: ReplayPolicy.Instant,
        ack_wait: nanos(this.options.ackWaitMs),
        max_deliver: -1,
        max_ack_pending: -1,
      }),
    );
  }

  /** Forget the group's consumer (deleted): a later ensureGroup creates it again. */
  forgetGroup(stream: string, group: string): void {
    for (const key of [...this.consumers.keys()]) if (key.startsWith(`${stream}/${group}/`)) this.consumers.delete(key);
  }

  /** Forget what was ensured (after the server lost it, e.g. a memory-storage restart). */
  forget(stream?: string): void {
    for (const map of [this.streams, this.consumers]) {
      for (const key of [...map.keys()]) if (stream === undefined || key === stream || key.startsWith(`${stream}/`)) map.delete(key);
    }
  }

  private limits(): Pick<StreamConfig, 'storage' | 'num_replicas' | 'duplicate_window' | 'max_age' | 'max_bytes' | 'discard'> {
    const { storage, replicas, duplicateWindowMs, maxAgeMs, maxBytes } = this.options;
    return {
      storage: storage === 'file' ? StorageType.File : StorageType.Memory,
      num_replicas: replicas,
      // The server refuses a duplicate window longer than max_age.
      duplicate_window: nanos(maxAgeMs > 0 ? Math.min(duplicateWindowMs, maxAgeMs) : duplicateWindowMs),
      max_age: nanos(maxAgeMs),
      max_bytes: maxBytes,
      discard: DiscardPolicy.Old,
    };
  }

  /**
   * Bring an existing stream to the bound. Its retention cannot change (nats-server refuses,
   * err_code 10052), so a stream with limits retention is a ConfigError: a bound there would
   * count messages every group acked long ago and a full topic would never free up. Limits are
   * updated in place, except when that would delete messages a `reject` bound promised to keep
   * (the server applies a lower limit by deleting the oldest, see overLimits).
   */
  private async applyBound(topic: string, bound: TopicBound, info: StreamInfo): Promise<void> {
    const name = info.config.name;
    const limits = boundLimits(bound, this.options.maxBytes);
    if (info.config.retention !== RetentionPolicy.Interest) {
      throw new ConfigError(
        'bound',
        `topic "${topic}" is bounded (${describeBound(bound)}) but its stream "${name}" exists with ${info.config.retention} retention, which JetStream cannot change: there the bound would count messages every group has acknowledged, and a full topic would never free up; delete the stream (its messages go with it) so that it is created with interest retention, or use the topic unbounded`,
      );
    }
    if (sameLimits(info.config, limits)) return;
    const over = bound.overflow === 'reject' ? overLimits(info, limits) : undefined;
    if (over !== undefined) {
      throw new ConfigError(
        'bound',
        `topic "${topic}" is bounded (${describeBound(bound)}, overflow "reject") but its stream "${name}" holds ${over}: JetStream would apply the bound by deleting the oldest of them; let the groups catch up and use the topic again, or raise the bound`,
      );
    }
    await this.jsm().streams.update(name, limits);
  }

  private streamKey(name: string, subject: string): string {
    // Keyed by name and subject: another topic with the same stream name must still be checked.
    return `${name}/=${subject}`;
  }

  private async createStream(config: Partial<StreamConfig> & { name: string; subjects: string[] }, reconcile?: (existing: StreamInfo) => Promise<void>): Promise<void> {
    const jsm = this.jsm();
    let existing = await jsm.streams.info(config.name).catch((error: unknown) => {
      if (isStreamNotFound(error)) return undefined;
      throw error;
    });
    if (!existing) {
      try {
        await jsm.streams.add(config);
        return;
      } catch (error) {
        // Another process created it meanwhile (maybe with other limits): use theirs.
        existing = await jsm.streams.info(config.name).catch(() => undefined);
        if (!existing) throw error;
      }
    }
    const wanted = config.subjects[0] as string;
    if (!existing.config.subjects?.includes(wanted)) {
      throw new ConfigError(
        'topic',
        `stream "${config.name}" exists for subjects ${JSON.stringify(existing.config.subjects ?? [])}, not "${wanted}": the stream is not this topic's (another Omnibus setup whose streamPrefix and topic give the same name, or not Omnibus's); use another options.streamPrefix`,
      );
    }
    await reconcile?.(existing);
  }

  private async createConsumer(stream: string, config: Partial<ConsumerConfig> & { durable_name: string; filter_subject: string }): Promise<void> {
    const jsm = this.jsm();
    let existing: ConsumerInfo | undefined = await jsm.consumers.info(stream, config.durable_name).catch((error: unknown) => {
      if (isConsumerNotFound(error)) return undefined;
      throw error;
    });
    if (!existing) {
      try {
        await jsm.consumers.add(stream, config);
        return;
      } catch (error) {
        existing = await jsm.consumers.info(stream, config.durable_name).catch(() => undefined);
        if (!existing) throw error;
      }
    }
    const found = existing.config;
    if (!isOmnibusPullConsumer(existing, config.filter_subject)) {
      throw new ConfigError(
        'group',
        `consumer "${config.durable_name}" of stream "${stream}" is not an Omnibus pull consumer of "${config.filter_subject}" (filter "${found.filter_subject ?? ''}"); delete it or choose another group name`,
      );
    }
    // Raise what must be raised (ack pending below the concurrency, another ack wait); never lower limits set by hand.
    const wantedPending = config.max_ack_pending ?? 0;
    const pendingTooLow = wantedPending === -1 ? found.max_ack_pending !== -1 : found.max_ack_pending !== -1 && (found.max_ack_pending ?? 0) < wantedPending;
    if (pendingTooLow || found.ack_wait !== config.ack_wait) {
      await jsm.consumers.update(stream, config.durable_name, {
        ...(config.ack_wait === undefined ? {} : { ack_wait: config.ack_wait }),
        ...(pendingTooLow ? { max_ack_pending: wantedPending } : {}),
      });
    }
  }

  /** Run `create` once per key; a failure is not cached, so the next call tries again. */
  private once(cache: Map<string, Promise<void>>, key: string, create: () => Promise<void>): Promise<void> {
    let pending = cache.get(key);
    if (!pending) {
      pending = create();
      cache.set(key, pending);
      pending.catch(() => {
        if (cache.get(key) === pending) cache.delete(key);
      });
    }
    return pending;
  }
}
