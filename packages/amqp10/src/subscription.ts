import type { Delivery as RheaDelivery, EventContext, Receiver } from 'rhea';
import { ConnectionError, backoffDelay, exponentialBackoff, withTimeout, type Logger, type NackOptions, type SubscribeParams, type TransportSubscription } from '@omnibus/core';
import { decodeMessage, encodeMessage } from './codec.js';
import type { ConnectionManager, LiveConnection } from './connection.js';
import { Amqp10Delivery, type DeliveryOwner } from './delivery.js';
import type { DispositionGate, Outcome } from './dispositions.js';
import type { Scrubber } from './errors.js';
import { TOPIC_CAPABILITY } from './names.js';
import type { Publisher } from './publisher.js';

/** A receiver link of this subscription on one connection. */
interface ReceiverLink {
  readonly receiver: Receiver;
  readonly generation: number;
  readonly id: number;
  open: boolean;
}

/**
 * Where the subscription is: running (handing over, `link` undefined while no connection is up),
 * stopped (stop(): nothing more handed over, what was can still be settled), closed.
 */
type State = { readonly phase: 'running'; link: ReceiverLink | undefined } | { readonly phase: 'stopped'; link: ReceiverLink | undefined } | { readonly phase: 'closed' };

export interface SubscriptionDeps {
  readonly connection: ConnectionManager;
  readonly publisher: Publisher;
  readonly scrub: Scrubber;
  readonly logger: Logger;
  readonly gate: DispositionGate;
  readonly attachTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly reconnect: { readonly initialDelayMs: number; readonly maxDelayMs: number };
}

let linkCounter = 0;

/**
 * Attach a receiver to `fqqn` and wait for the broker's attach. Artemis creates the queue (durable,
 * MULTICAST because of the `topic` capability) if it is missing.
 */
export function attachReceiver(live: LiveConnection, fqqn: string, timeoutMs: number, scrub: Scrubber): { receiver: Receiver; id: number; opened: Promise<void> } {
  const id = ++linkCounter;
  const receiver = live.connection.open_receiver({
    name: `omnibus-recv-${id}-${fqqn}`,
    source: { address: fqqn, capabilities: [TOPIC_CAPABILITY] },
    credit_window: 0,
    autoaccept: false,
  });
  const opened = new Promise<void>((resolve, reject) => {
    receiver.once('receiver_open', () => resolve());
    const refused = (context: EventContext) => reject(new ConnectionError(`the broker refused to attach to queue "${fqqn}": ${scrub.error(context.receiver?.error ?? 'detached').message}`));
    receiver.once('receiver_error', refused);
    receiver.once('receiver_close', refused);
  });
  return { receiver, id, opened: withTimeout(opened, timeoutMs, () => new ConnectionError(`the broker did not attach to queue "${fqqn}" within ${timeoutMs} ms`)) };
}

/**
 * One consumer of a group: a receiver on the group queue's FQQN with link credit as flow control.
 * Credit granted plus deliveries the consumer holds never exceed `concurrency`: a credit comes back
 * only when the consumer settles (or lets go of) a delivery, on whichever connection it came.
 */
export class Amqp10Subscription implements TransportSubscription, DeliveryOwner {
  private state: State = { phase: 'running', link: undefined };
  /** Handed over and not yet let go of by the consumer (any generation). */
  private inHand = 0;
  private readonly unsettled = new Set<Amqp10Delivery>();
  private readonly unlisten: () => void;
  private reattachFailures = 0;
  private reattachTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly params: SubscribeParams,
    private readonly fqqn: string,
    private readonly deps: SubscriptionDeps,
  ) {
    this.unlisten = deps.connection.listen({
      opened: (live) => {
        if (this.state.phase === 'running') void this.attach(live).catch((error: Error) => this.attachFailed(live, error));
      },
      lost: (live) => {
        if (this.state.phase !== 'closed' && this.state.link?.generation === live.generation) this.state.link = undefined;
      },
    });
  }

  /** Attach on the open connection; rejects (ConnectionError) when the broker refuses the queue. */
  async start(): Promise<void> {
    await this.deps.connection.connect();
    const live = await this.deps.connection.waitOpen();
    await this.attach(live);
  }

  private async attach(live: LiveConnection): Promise<void> {
    if (this.state.phase !== 'running') return;
    // start() and the `opened` listener both attach when the first connect happens during start():
    // one receiver per connection.
    if (this.state.link?.generation === live.generation) return;
    const { receiver, id, opened } = attachReceiver(live, this.fqqn, this.deps.attachTimeoutMs, this.deps.scrub);
    const link: ReceiverLink = { receiver, generation: live.generation, id, open: false };
    this.state.link = link;
    receiver.on('message', (context: EventContext) => this.onMessage(link, context));
    try {
      await opened;
    } catch (error) {
      if (this.state.link === link) this.state.link = undefined;
      receiver.removeAllListeners();
      receiver.on('receiver_error', () => undefined);
      throw error;
    }
    link.open = true;
    this.reattachFailures = 0;
    const detached = (context: EventContext) => {
      if (this.state.phase === 'closed' || this.state.link !== link) return;
      this.state.link = undefined;
      const error = this.deps.scrub.error(context.receiver?.error ?? 'the broker detached the receiver');
      this.params.onError(error);
      this.scheduleReattach(live);
    };
    receiver.on('receiver_error', detached);
    receiver.on('receiver_close', detached);
    if (this.state.phase === 'running' && this.state.link === link) this.grant(link, this.params.concurrency - this.inHand);
  }

  private attachFailed(live: LiveConnection, error: Error): void {
    if (this.state.phase !== 'running') return;
    this.params.onError(error);
    this.scheduleReattach(live);
  }

  /** The broker detached us (or refused the attach) while the connection stayed: attach again with backoff. */
  private scheduleReattach(live: LiveConnection): void {
    const { initialDelayMs, maxDelayMs } = this.deps.reconnect;
    const delayMs = backoffDelay(exponentialBackoff(initialDelayMs, maxDelayMs, { jitter: true }), ++this.reattachFailures);
    clearTimeout(this.reattachTimer);
    this.reattachTimer = setTimeout(() => {
      if (this.state.phase !== 'running' || this.deps.connection.current() !== live || this.state.link) return;
      void this.attach(live).catch((error: Error) => this.attachFailed(live, error));
    }, delayMs);
  }

  private grant(link: ReceiverLink, credit: number): void {
    if (credit > 0 && link.open) link.receiver.add_credit(credit);
  }

  private onMessage(link: ReceiverLink, context: EventContext): void {
    const raw = context.delivery;
    const message = context.message;
    if (!raw || !message) return;
    if (this.state.phase !== 'running' || this.state.link !== link) {
      // Credit given before stop(): back to the queue, not counted as an attempt.
      this.deps.gate.settle(raw, 'released');
      return;
    }
    const decoded = decodeMessage(this.params.topic, this.fqqn, message);
    const tag = raw.tag;
    const metadata = { deliveryTag: Buffer.isBuffer(tag) ? tag.toString('hex') : String(tag), deliveryCount: Number(message.delivery_count ?? 0) };
    const delivery = new Amqp10Delivery(decoded.message, decoded.attempt, metadata, raw, link.generation, link.id, this);
    this.inHand++;
    this.unsettled.add(delivery);
    this.params.onDelivery(delivery);
  }

  canSettle(generation: number, linkId: number): boolean {
    const current = this.deps.connection.current();
    if (!current || current.generation !== generation) return false;
    // AMQP settles a delivery on its own link only, which must still be attached (also after stop()).
    const link = this.state.phase === 'closed' ? undefined : this.state.link;
    return link?.id === linkId && link.open;
  }

  dispose(raw: RheaDelivery, outcome: Outcome): void {
    this.deps.gate.settle(raw, outcome);
  }

  released(delivery: Amqp10Delivery): void {
    this.inHand = Math.max(0, this.inHand - 1);
    this.unsettled.delete(delivery);
    if (this.state.phase === 'running' && this.state.link) this.grant(this.state.link, 1);
  }

  async nack(delivery: Amqp10Delivery, options: NackOptions | undefined): Promise<void> {
    const delayMs = options?.delayMs ?? 0;
    const headers = options?.headers;
    const rewrites = headers !== undefined && Object.keys(headers).some((name) => delivery.message.headers[name] !== headers[name]);
    if (delayMs <= 0 && !rewrites) {
      this.dispose(delivery.raw, 'failed');
      return;
    }
    // Artemis ignores annotations on Modified: the delay and the headers travel on a copy sent to
    // this group's queue only, accepted by the broker before the delivery is.
    const copy = encodeMessage(delivery.message, {
      deliverAt: delayMs > 0 ? Date.now() + delayMs : undefined,
      attempt: delivery.attempt + 1,
      to: this.fqqn,
      headers,
    });
    try {
      await this.deps.publisher.send([{ target: this.fqqn, topic: this.params.topic, message: copy }]);
    } catch (error) {
      this.params.onError(this.deps.scrub.error(error));
      // The copy may not be stored: the original goes back, counted, at once.
      if (delivery.canStillSettle()) this.dispose(delivery.raw, 'failed');
      return;
    }
    if (delivery.canStillSettle()) this.dispose(delivery.raw, 'accepted');
  }

  async stop(): Promise<void> {
    if (this.state.phase !== 'running') return;
    this.state = { phase: 'stopped', link: this.state.link };
    clearTimeout(this.reattachTimer);
    // No more credit is granted; what still arrives on credit given before is released unhandled
    // (Released: not counted as an attempt). No drain: the link is detached at close anyway.
  }

  async close(): Promise<void> {
    if (this.state.phase === 'closed') return;
    await this.stop();
    const link = this.state.phase === 'stopped' ? this.state.link : undefined;
    for (const delivery of [...this.unsettled]) delivery.releaseCounted();
    this.state = { phase: 'closed' };
    this.unlisten();
    if (link?.open && this.deps.connection.current()?.generation === link.generation) {
      // Detach, not close: nothing of the durable queue is given up. Wait for the broker's detach:
      // by then it has applied the dispositions sent before and put back what was still on the way
      // to this link, so a consumer attached next sees every message.
      await this.deps.gate.idle();
      const detached = new Promise<void>((resolve) => {
        link.receiver.removeAllListeners();
        link.receiver.on('message', (context: EventContext) => context.delivery && this.deps.gate.settle(context.delivery, 'released'));
        link.receiver.once('receiver_close', () => resolve());
        link.receiver.once('receiver_error', () => resolve());
      });
      link.receiver.detach();
      await withTimeout(detached, this.deps.closeTimeoutMs, () => new Error('detach timed out')).catch(() => undefined);
    }
  }
}
