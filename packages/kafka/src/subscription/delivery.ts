import type { Delivery, NackOptions, TransportMessage } from '@omnibus/core';
import type { Entry, PartitionState } from './partition.js';

/** What a delivery reports its settlement to. */
export interface DeliveryOwner {
  settleAck(delivery: KafkaDelivery): void;
  settleNack(delivery: KafkaDelivery, options: NackOptions): Promise<void>;
}

const SETTLED: Promise<void> = Promise.resolve();

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
