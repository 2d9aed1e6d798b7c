import { SettleOnce, type Delivery, type DeliveryMetadata, type NackOptions, type TransportMessage } from '@omnibus/core';
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
  private readonly once = new SettleOnce();

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
    // An ack is synchronous bookkeeping: it creates no promise of its own (SettleOnce wraps the shared one).
    return this.once.run(() => {
      this.owner.settleAck(this);
      return SETTLED;
    });
  }

  nack(options: NackOptions = {}): Promise<void> {
    return this.once.run(() => this.owner.settleNack(this, options));
  }
}
