import type { Msg } from '@nats-io/transport-node';
import { nanos } from '@nats-io/transport-node';
import { SettleOnce } from '@omnibus/core';
import { utf8 } from './codec.js';
import type { Link } from './link.js';

/** What a worker does when one of its messages is settled. */
export interface SettleSink {
  settled(received: Received): void;
}

const ACK = utf8('+ACK');
const NAK = utf8('-NAK');
const WPI = utf8('+WPI');
const done: Promise<void> = Promise.resolve();

/**
 * One message a pull worker received, until it is settled (exactly once: the first of
 * ack, nak or drop wins, see SettleOnce). Settling publishes `+ACK` / `-NAK` on the
 * delivery's reply subject without waiting for the server's confirmation (as nats.js
 * `JsMsg.ack()` does): an ack that never reaches the server (the connection drops
 * first) only means the message is redelivered after the ack wait, which
 * at-least-once allows. Stopping and closing flush the connection, so the acks of
 * finished handlers reach the server before a graceful close returns.
 */
export class Received {
  private readonly settlement = new SettleOnce();
  /** Last time the server heard from us about this message (delivery or `+WPI`). */
  lastProgress = Date.now();
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** The consumer's own sequence of this delivery (a redelivery gets a new one). */
  readonly consumerSequence: number;
  /** When the stream stored the message (nanoseconds since the epoch, as the ack subject has it). */
  readonly storedAt: string;
  /** Messages the consumer still had to deliver when the server sent this one. */
  readonly pending: number;

  constructor(
    readonly msg: Msg,
    readonly epoch: number,
    private readonly link: Link,
    private readonly sink: SettleSink,
  ) {
    const info = parseAckSubject(msg.reply ?? '');
    this.deliveryCount = info.deliveryCount;
    this.streamSequence = info.streamSequence;
    this.consumerSequence = info.consumerSequence;
    this.storedAt = info.storedAt;
    this.pending = info.pending;
  }

  /** Is the connection that delivered this message still the current one? */
  get live(): boolean {
    return this.epoch === this.link.epoch && this.link.connected && !this.link.nc.isClosed();
  }

  ack(): Promise<void> {
    return this.settle(ACK);
  }

  /** Deliver again after `delayMs` (JetStream's own delayed redelivery). */
  nak(delayMs = 0): Promise<void> {
    const delay = Math.max(0, Math.round(delayMs));
    return this.settle(delay > 0 ? utf8(`-NAK ${JSON.stringify({ delay: nanos(delay) })}`) : NAK);
  }

  /** Tell the server the message is still being worked on (resets its ack wait). */
  progress(): void {
    if (this.settlement.done || !this.live || !this.msg.reply) return;
    this.lastProgress = Date.now();
    try {
      this.link.nc.publish(this.msg.reply, WPI);
    } catch {
      // The connection is going away: the server will redeliver.
    }
  }

  /** Settle without telling the server (the connection that delivered it is gone). */
  drop(): void {
    if (this.settlement.done) return;
    this.settlement.abandon();
    this.sink.settled(this);
  }

  private settle(payload: Uint8Array): Promise<void> {
    return this.settlement.run(() => {
      this.sink.settled(this);
      // A delivery of a lost connection is never settled afterwards: the server redelivers it.
      if (this.live && this.msg.reply) this.link.post(this.msg.reply, payload);
      return done;
    });
  }
}

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (9 tokens), or
 * with domain and account hash `$JS.ACK.<domain>.<hash>.<stream>.<consumer>.<delivered>…` (11+).
 */
export function parseAckSubject(subject: string): { deliveryCount: number; streamSequence: number; consumerSequence: number; storedAt: string; pending: number } {
  const tokens = subject.split('.');
  const base = tokens.length >= 11 ? 4 : 2;
  const deliveryCount = Number(tokens[base + 2]);
  return {
    deliveryCount: Number.isInteger(deliveryCount) && deliveryCount > 0 ? deliveryCount : 1,
    streamSequence: wholeNumber(tokens[base + 3]),
    consumerSequence: wholeNumber(tokens[base + 4]),
    storedAt: tokens[base + 5] ?? '0',
    pending: wholeNumber(tokens[base + 6]),
  };
}

function wholeNumber(token: string | undefined): number {
  const value = Number(token);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}
