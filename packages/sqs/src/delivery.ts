import { assertDelayMs, SettleOnce, type Delivery, type DeliveryMetadata, type NackOptions, type TransportMessage } from '@omnibus/core';

/** What an SQS delivery tells of itself: SQS' message id and its receive count in this copy. */
export interface SqsDeliveryMetadata extends DeliveryMetadata {
  readonly messageId: string;
  readonly receiveCount: number;
}

/** What a delivery needs from its subscription: each called at most once per delivery (SettleOnce). */
export interface DeliveryOwner {
  ack(delivery: SqsDelivery): Promise<void>;
  nack(delivery: SqsDelivery, delayMs: number, headers: NackOptions['headers']): Promise<void>;
}

/**
 * One hand-over of one received SQS message. Its receipt handle is the lease: the subscription
 * extends the message's visibility while the delivery is unsettled. Ack deletes it, nack makes it
 * visible again (after the delay) or, when the redelivery needs other headers, sends a copy and
 * deletes it. Broker failures are reported to the subscription's onError, not thrown: the
 * message then comes back when its visibility timeout ends, as after a crash.
 */
export class SqsDelivery implements Delivery {
  private readonly once = new SettleOnce();

  constructor(
    readonly message: TransportMessage,
    readonly attempt: number,
    readonly metadata: SqsDeliveryMetadata,
    readonly receiptHandle: string,
    /** When SQS handed it out (visibility can be extended to 12 hours from then). */
    readonly receivedAt: number,
    private readonly owner: DeliveryOwner,
  ) {}

  get settled(): boolean {
    return this.once.done;
  }

  ack(): Promise<void> {
    return this.once.run(() => this.owner.ack(this));
  }

  /** A delay that is not a number from 0 to MAX_DELAY_MS rejects with a ConfigError and leaves the delivery unsettled. */
  async nack(options: NackOptions = {}): Promise<void> {
    if (this.once.done) return;
    assertDelayMs(options.delayMs, 'nack delayMs');
    return this.once.run(() => this.owner.nack(this, options.delayMs ?? 0, options.headers));
  }

  /** Settled without effect (the transport closed: the message comes back after its visibility timeout). */
  abandon(): void {
    this.once.abandon();
  }
}
