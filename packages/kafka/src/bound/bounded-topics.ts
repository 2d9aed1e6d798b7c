import { QueueFullError, UnsupportedError, type OutgoingMessage, type TopicBound } from '@omnibus/core';
import type { KafkaDriver } from '../driver/driver.js';
import type { Naming } from '../naming.js';
import { admit } from './admission.js';
import { BacklogReader, type Backlog } from './backlog.js';

export interface BoundedTopicsDeps {
  readonly driver: KafkaDriver;
  readonly naming: Naming;
  /** The bootstrap brokers: with the Kafka topic, what identifies a topic across the process's transports. */
  readonly brokers: readonly string[];
  /** How long a refusal waits for consumers' commits (see Admission): about one commit interval. */
  readonly graceMs: number;
  /** Most messages let in per backlog read (options.boundedPerRound). */
  readonly perRound: number;
}

interface Declared {
  readonly maxMessages: number;
  readonly kafkaTopic: string;
  readonly reader: BacklogReader;
}

/** How long the list of a topic's groups is reused: a group made elsewhere counts this much later. */
const DIRECTORY_TTL_MS = 1_000;

/**
 * The `reject` bounds declared to this transport (Transport.declareTopic) and the check in
 * front of a publish to one of them. Only what a user publishes is checked (an
 * OutgoingMessage with a deduplicationId): core's own writes (dead letters, replays) never
 * are, and retries go to the group's retry topic without passing here.
 */
export class BoundedTopics {
  private readonly declared = new Map<string, Declared>();

  constructor(private readonly deps: BoundedTopicsDeps) {}

  /** The latest declaration of a topic wins, as a changed broker policy would. */
  declare(topic: string, bound: TopicBound | undefined): void {
    if (bound === undefined) {
      this.declared.delete(topic);
      return;
    }
    // Core refuses these first (capabilities); a caller of the transport itself gets the same answer.
    if (bound.overflow !== 'reject') throw new UnsupportedError(`kafka: topic "${topic}" cannot be bounded with overflow "${bound.overflow}": Kafka's retention deletes whole segments for every group at once`);
    if (bound.maxBytes !== undefined || bound.maxMessages === undefined) throw new UnsupportedError(`kafka: topic "${topic}" can be bounded by message count only (maxMessages)`);
    const { driver, naming } = this.deps;
    const kafkaTopic = naming.topic(topic);
    const reader = new BacklogReader({ driver, main: kafkaTopic, delay: naming.delayTopic(topic), groupIdPrefix: naming.groupId(topic, ''), directoryTtlMs: DIRECTORY_TTL_MS });
    this.declared.set(topic, { maxMessages: bound.maxMessages, kafkaTopic, reader });
  }

  /** A group of `topic` was just made here: count it from the next check on. */
  groupEnsured(topic: string): void {
    this.declared.get(topic)?.reader.forget();
  }

  /**
   * `send` wrapped in the checks of the bounded topics its user messages go to (undefined when
   * none): resolves once sent, or rejects with a QueueFullError and sends nothing. A call to
   * several bounded topics is admitted by each in name order (one order: no two calls wait on
   * each other), and refused as a whole when one of them is full.
   */
  guard(messages: readonly OutgoingMessage[], send: () => Promise<void>): (() => Promise<void>) | undefined {
    if (this.declared.size === 0) return undefined;
    const counts = new Map<string, number>();
    for (const message of messages) {
      if (message.deduplicationId === undefined || !this.declared.has(message.topic)) continue;
      counts.set(message.topic, (counts.get(message.topic) ?? 0) + 1);
    }
    if (counts.size === 0) return undefined;
    const topics = [...counts.keys()].sort();
    return topics.reduceRight<() => Promise<void>>((inner, topic) => {
      const { maxMessages, kafkaTopic, reader } = this.declared.get(topic) as Declared;
      return () =>
        admit(this.deps.brokers, kafkaTopic, {
          count: counts.get(topic) as number,
          maxMessages,
          perRound: this.deps.perRound,
          graceMs: this.deps.graceMs,
          read: () => reader.read(),
          send: inner,
          refuse: (backlog) => refusal(topic, maxMessages, backlog),
        });
    }, send);
  }
}

function refusal(topic: string, maxMessages: number, backlog: Backlog): QueueFullError {
  return new QueueFullError(topic, `at most ${maxMessages} messages waiting for a group; group "${backlog.group ?? '?'}" has ${backlog.messages} not yet committed`);
}
