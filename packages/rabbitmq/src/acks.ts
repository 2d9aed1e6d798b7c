import type { ConsumeMessage } from 'amqplib';
import type { ChannelHandle } from './channels.js';

/**
 * Acknowledgements of one consumer channel, coalesced: acks given while the same batch of
 * work runs (one process.nextTick) go out together, the in-order part as ONE `basic.ack` with
 * `multiple` (it covers exactly the acked tags below the lowest delivery still unsettled), the
 * rest one by one. Nothing waits for a slow delivery: every ack is sent at the next flush.
 *
 * Acks only ever go to the channel that delivered the message; if it is closed, pending acks
 * are dropped (the broker redelivers those messages, as for any unacked delivery).
 */
export class AckBatcher {
  /** Delivery tags handed to us and not yet settled (acked, nacked or released). At most the prefetch. */
  private readonly unsettled = new Set<number>();
  private pending: ConsumeMessage[] = [];
  private scheduled = false;
  private readonly flushNow = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly handle: ChannelHandle) {}

  /** A delivery arrived on the channel. */
  received(raw: ConsumeMessage): void {
    this.unsettled.add(raw.fields.deliveryTag);
  }

  /** Settled without an ack (basic.nack / reject was sent for it). */
  settledOtherwise(raw: ConsumeMessage): void {
    this.unsettled.delete(raw.fields.deliveryTag);
  }

  /** Ack it at the next flush (this tick). */
  ack(raw: ConsumeMessage): void {
    if (!this.handle.open) return;
    this.unsettled.delete(raw.fields.deliveryTag);
    this.pending.push(raw);
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  /** Send every pending ack now (before the channel is closed on purpose). */
  flush(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    if (!this.handle.open) return;
    const { channel } = this.handle;
    try {
      if (pending.length === 1) {
        channel.ack(pending[0] as ConsumeMessage);
        return;
      }
      let lowest = Infinity;
      for (const tag of this.unsettled) if (tag < lowest) lowest = tag;
      // Every tag below `lowest` is settled: the highest pending one acks all pending ones below it at once.
      let upTo: ConsumeMessage | undefined;
      for (const raw of pending) {
        const tag = raw.fields.deliveryTag;
        if (tag < lowest) {
          if (!upTo || tag > upTo.fields.deliveryTag) upTo = raw;
        } else {
          channel.ack(raw);
        }
      }
      if (upTo) channel.ack(upTo, true);
    } catch {
      // The channel closed meanwhile: the broker redelivers what was not acked.
    }
  }
}
