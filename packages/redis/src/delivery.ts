import { SettleOnce, type Delivery, type DeliveryMetadata, type NackOptions, type TransportMessage } from '@omnibus/core';
import { scheduledDelay } from './delay.js';

/** A stream entry this consumer owns (in its pending list), handed over or not yet. */
export interface HeldEntry {
  /** Key of the stream the entry is in. */
  readonly stream: string;
  readonly id: string;
  /** From the group's own redelivery stream: deleted once settled. */
  readonly redelivery: boolean;
  readonly message: TransportMessage;
  readonly attempt: number;
  /** Handed to core as Delivery.metadata (made once per entry, shared by its delivery). */
  readonly metadata: RedisDeliveryMetadata;
}

/**
 * What a Redis delivery tells of itself: `offset` is the id of the stream entry delivered, in the
 * stream `stream` names: `topic` (the topic's stream, where the publisher's XADD put it) or
 * `redelivery` (the group's own redelivery stream, where a nack or a released delivery re-added it,
 * under a new id).
 */
export interface RedisDeliveryMetadata extends DeliveryMetadata {
  readonly offset: string;
  readonly stream: 'topic' | 'redelivery';
}

/**
 * What a delivery needs from its subscription: called once per delivery at most (the delivery's
 * SettleOnce lets only the first ack or nack through), which frees its capacity at once.
 */
export interface DeliveryOwner {
  ack(delivery: RedisDelivery): Promise<void>;
  /** `delayMs`: validated whole milliseconds (see scheduledDelay); redelivered with attempt + 1. */
  nack(delivery: RedisDelivery, delayMs: number, headers?: NackOptions['headers']): Promise<void>;
}

/**
 * One hand-over. The first ack/nack settles it (capacity is freed at once); the
 * Redis side then follows: an ack is a plain XACK batched with the other acks of the
 * same event-loop turn; a nack (re-add + XACK) runs as one script that does nothing if
 * the entry meanwhile belongs to another consumer. Redis failures are reported to
 * the subscription's onError, not thrown: the entry stays pending and is claimed
 * again after the claim idle time, as after a lost connection.
 */
export class RedisDelivery implements Delivery {
  private readonly once = new SettleOnce();

  constructor(
    readonly entry: HeldEntry,
    private readonly owner: DeliveryOwner,
  ) {}

  get message(): TransportMessage {
    return this.entry.message;
  }

  get attempt(): number {
    return this.entry.attempt;
  }

  get metadata(): RedisDeliveryMetadata {
    return this.entry.metadata;
  }

  ack(): Promise<void> {
    return this.once.run(() => this.owner.ack(this));
  }

  /**
   * A delay that is not a finite number from 0 to MAX_DELAY_MS rejects with a ConfigError
   * before anything happens: the delivery stays unsettled and can still be acked or nacked.
   */
  async nack(options: NackOptions = {}): Promise<void> {
    if (this.once.done) return;
    const delayMs = scheduledDelay(options.delayMs, 'nack delayMs');
    return this.once.run(() => this.owner.nack(this, delayMs, options.headers));
  }
}
