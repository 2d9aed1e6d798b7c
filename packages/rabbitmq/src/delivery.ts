import type { ConsumeMessage } from 'amqplib';
import { SettleOnce, type Delivery, type DeliveryMetadata, type NackOptions, type TransportMessage } from '@omnibus/core';
import type { AckBatcher } from './acks.js';
import type { ChannelHandle } from './channels.js';

/** What a delivery asks of its subscription when it is settled. */
export interface DeliveryOwner {
  /** The delivery no longer counts against the concurrency. */
  released(): void;
  /** Put a copy back (attempt + 1, merged headers, after the delay), then ack the original. */
  redeliver(delivery: RabbitDelivery, options: NackOptions): Promise<void>;
}

/**
 * What the broker says of one delivery (see README "Delivery metadata"). The delivery tag counts
 * per channel, so it identifies a delivery only with its consumer tag (one consumer per channel).
 */
export interface RabbitDeliveryMetadata extends DeliveryMetadata {
  readonly deliveryTag: string;
  readonly consumerTag: string;
  /** 'true' when the broker delivered this message before (to any consumer) and got no ack. */
  readonly redelivered: 'true' | 'false';
  /** The exchange it was published to: the topic's, `''` for a retry copy, the router for a delayed one. */
  readonly exchange: string;
  readonly routingKey: string;
  /** The group queue it was delivered from. */
  readonly queue: string;
}

export function deliveryMetadata(raw: ConsumeMessage, queue: string): RabbitDeliveryMetadata {
  const { fields } = raw;
  return {
    deliveryTag: String(fields.deliveryTag),
    consumerTag: fields.consumerTag,
    redelivered: fields.redelivered ? 'true' : 'false',
    exchange: fields.exchange,
    routingKey: fields.routingKey,
    queue,
  };
}

/**
 * One delivery, tied to the channel that delivered it. Settled once (core's SettleOnce): the first ack/nack
 * wins, later calls resolve at once. If that channel is gone, ack and nack do nothing — the broker
 * has already put the message back — and nothing is ever sent on another channel.
 */
export class RabbitDelivery implements Delivery {
  private readonly once = new SettleOnce();

  constructor(
    readonly message: TransportMessage,
    readonly attempt: number,
    readonly handle: ChannelHandle,
    private readonly acks: AckBatcher,
    readonly raw: ConsumeMessage,
    private readonly owner: DeliveryOwner,
    readonly metadata: RabbitDeliveryMetadata,
  ) {}

  ack(): Promise<void> {
    return this.once.run(async () => {
      this.owner.released();
      this.acks.ack(this.raw);
    });
  }

  nack(options: NackOptions = {}): Promise<void> {
    return this.once.run(async () => {
      this.owner.released();
      if (this.handle.open) await this.owner.redeliver(this, options);
    });
  }

  /** Give the original back to the broker as it is (no copy): redelivered with the redelivered flag. */
  requeue(): void {
    this.acks.settledOtherwise(this.raw);
    this.send((channel) => channel.nack(this.raw, false, true));
  }

  /** Ack the original (its copy is safely stored). */
  acknowledge(): void {
    this.acks.ack(this.raw);
  }

  private send(settle: (channel: ChannelHandle['channel']) => void): void {
    if (!this.handle.open) return;
    try {
      settle(this.handle.channel);
    } catch {
      // The channel closed between the check and the send: the broker redelivers the message.
    }
  }
}
