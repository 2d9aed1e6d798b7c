import type { Delivery, DeliveryMetadata, NackOptions, TransportMessage } from '@omnibus/core';
import type { Entry, PartitionState } from './partition.js';

/** What a delivery reports its settlement to. */
export interface DeliveryOwner {
  settleAck(delivery: KafkaDelivery): void;
  settleNack(delivery: KafkaDelivery, options: NackOptions): Promise<void>;
}

const SETTLED: Promise<void> = Promise.resolve();

/**
 * What Kafka has for one delivery (see README "Delivery metadata"). `kafkaTopic` is where the
 * record was read: the topic itself, or its delay or the group's retry topic (a delayed publish
 * or a retry is a new record there, with its own partition, offset and timestamp).
 */
export interface KafkaDeliveryMetadata extends DeliveryMetadata {
  readonly partition: number;
  readonly offset: string;
  readonly key: string | undefined;
  /** The record's timestamp, epoch ms. */
  readonly timestamp: number;
  readonly kafkaTopic: string;
}

/** One hand-over of a fetched message; the first ack/nack wins, later calls do nothing. */
export class KafkaDelivery implements Delivery {
  private settled = false;

  constructor(
    private readonly owner: DeliveryOwner,
    readonly partition: PartitionState,
    readonly entry: Entry,
  ) {}

  get message(): TransportMessage {
    return this.entry.message;
  }

  /** Made when asked for (core asks once per delivery): nothing is kept per buffered record. */
  get metadata(): KafkaDeliveryMetadata {
    const { partition, entry } = this;
    return { partition: partition.partition, offset: entry.offset.toString(), key: entry.message.key, timestamp: entry.timestamp, kafkaTopic: partition.topic };
  }

  get attempt(): number {
    return this.entry.attempt;
  }

  ack(): Promise<void> {
    // Not async: an ack is synchronous bookkeeping, so share one settled promise instead of one per message.
    if (this.settled) return SETTLED;
    this.settled = true;
    try {
      this.owner.settleAck(this);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return SETTLED;
  }

  async nack(options: NackOptions = {}): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.owner.settleNack(this, options);
  }
}
