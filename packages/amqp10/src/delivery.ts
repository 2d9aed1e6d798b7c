import type { Delivery as RheaDelivery } from 'rhea';
import type { Outcome } from './dispositions.js';
import { SettleOnce, type Delivery, type DeliveryMetadata, type NackOptions, type TransportMessage } from '@omnibus/core';

/** What a delivery needs of its subscription to settle. */
export interface DeliveryOwner {
  /** True while the link the delivery came on is still attached (same connection generation). */
  canSettle(generation: number, linkId: number): boolean;
  /** Send the outcome (through the DispositionGate). */
  dispose(raw: RheaDelivery, outcome: Outcome): void;
  /** The delivery left the consumer's hands (any outcome, or none possible): one more credit. */
  released(delivery: Amqp10Delivery): void;
  /** The nack: a copy to the group's queue (delay or headers), or Modified{delivery-failed}. */
  nack(delivery: Amqp10Delivery, options: NackOptions | undefined): Promise<void>;
}

/**
 * One hand-over. Settled once (the kit's SettleOnce): ack → Accepted; nack → see the owner.
 * On a link that is gone (its connection lost) the settle is a no-op and the broker redelivers the
 * message; either way the call gives the subscription its credit back, since only then has the
 * consumer let go of the delivery (the concurrency bound counts what the consumer holds).
 */
export class Amqp10Delivery implements Delivery {
  private readonly settle = new SettleOnce();

  constructor(
    readonly message: TransportMessage,
    readonly attempt: number,
    readonly metadata: DeliveryMetadata,
    readonly raw: RheaDelivery,
    readonly generation: number,
    readonly linkId: number,
    private readonly owner: DeliveryOwner,
  ) {}

  /** Its link is still attached, so a disposition would reach the broker. */
  canStillSettle(): boolean {
    return this.owner.canSettle(this.generation, this.linkId);
  }

  get settled(): boolean {
    return this.settle.done;
  }

  ack(): Promise<void> {
    return this.settle.run(async () => {
      try {
        if (this.owner.canSettle(this.generation, this.linkId)) this.owner.dispose(this.raw, 'accepted');
      } finally {
        this.owner.released(this);
      }
    });
  }

  nack(options?: NackOptions): Promise<void> {
    return this.settle.run(async () => {
      try {
        if (this.owner.canSettle(this.generation, this.linkId)) await this.owner.nack(this, options);
      } finally {
        this.owner.released(this);
      }
    });
  }

  /** close(): back to the queue with the attempt counted (Modified{delivery-failed}). */
  releaseCounted(): void {
    void this.settle.run(async () => {
      try {
        if (this.owner.canSettle(this.generation, this.linkId)) this.owner.dispose(this.raw, 'failed');
      } finally {
        this.owner.released(this);
      }
    });
  }
}
