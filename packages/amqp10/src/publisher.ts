import type { Delivery, EventContext, Message, Sender } from 'rhea';
import { ClosedError, ConnectionError, PublishError, withTimeout, type Logger } from '@omnibus/core';
import type { ConnectionManager, LiveConnection } from './connection.js';
import { conditionOf, type Scrubber } from './errors.js';
import { TOPIC_CAPABILITY } from './names.js';

/** Where one message is on its way to the broker. */
type SendState = 'waiting' | 'sent' | 'done';

/** One message to be sent to one address, settled by the broker's outcome. */
interface PendingSend {
  readonly target: string;
  readonly topic: string;
  readonly message: Message;
  state: SendState;
  /** Times the broker released it (it did not take it, but may later): resent, up to a bound. */
  releases: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** How often a broker may release one message before publish gives up on it. */
const MAX_RELEASES = 5;

/** A sender link to one address on one connection, with what waits for its credit and what awaits an outcome. */
class SenderLink {
  ready = false;
  readonly queue: PendingSend[] = [];
  readonly inFlight = new Map<Delivery, PendingSend>();
  constructor(readonly sender: Sender) {}

  flush(): void {
    while (this.ready && this.queue.length > 0 && this.sender.sendable()) {
      const pending = this.queue.shift() as PendingSend;
      if (pending.state === 'done') continue;
      pending.state = 'sent';
      this.inFlight.set(this.sender.send(pending.message), pending);
    }
  }

  /** Everything not settled, in send order (in flight first: they were sent first). */
  drainAll(): PendingSend[] {
    const all = [...this.inFlight.values(), ...this.queue];
    this.inFlight.clear();
    this.queue.length = 0;
    return all.filter((pending) => pending.state !== 'done');
  }
}

/**
 * Publishes resolve on the broker's `accepted` outcome only, which Artemis gives for a durable
 * message once it is in its journal. Unsettled sends of a lost connection are sent again on the
 * next one (the same message: Artemis' duplicate detection drops a copy it already has when the
 * message carries a deduplication id); while no connection is open they wait, bounded by
 * publishTimeoutMs. One sender link per address (a topic, or a group queue's FQQN for nack copies),
 * opened on first use with the `topic` capability so Artemis makes a new address MULTICAST.
 */
export class Publisher {
  private links = new Map<string, SenderLink>();
  private linksOf: LiveConnection | undefined;
  /** Sends without a connection to go on. */
  private readonly waiting: PendingSend[] = [];
  private closed = false;
  private linkCounter = 0;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly publishTimeoutMs: number,
    private readonly scrub: Scrubber,
    private readonly logger: Logger,
  ) {
    connection.listen({
      opened: (live) => this.opened(live),
      lost: (live) => this.lost(live),
    });
  }

  /** Send messages; resolves once the broker accepted every one of them, within publishTimeoutMs. */
  async send(items: readonly { readonly target: string; readonly topic: string; readonly message: Message }[]): Promise<void> {
    if (this.closed) throw new ClosedError('the amqp10 transport is closed');
    const pendings: PendingSend[] = [];
    const settled = items.map(
      (item) =>
        new Promise<void>((resolve, reject) => {
          const pending: PendingSend = { ...item, state: 'waiting', releases: 0, resolve, reject };
          pendings.push(pending);
        }),
    );
    for (const pending of pendings) this.route(pending);
    const all = Promise.all(settled).then(() => undefined);
    try {
      await withTimeout(all, this.publishTimeoutMs, () =>
        this.connection.current()
          ? new PublishError(`the broker did not accept ${items.length === 1 ? 'the message' : 'every message'} within ${this.publishTimeoutMs} ms (publishTimeoutMs)`, items[0] ? { topic: items[0].topic } : {})
          : new ConnectionError(`no connection to the broker within ${this.publishTimeoutMs} ms (publishTimeoutMs): nothing of this publish is known to be stored`),
      );
    } finally {
      // A send that timed out is never sent again (an accepted one is done already).
      for (const pending of pendings) pending.state = 'done';
    }
  }

  private route(pending: PendingSend): void {
    if (pending.state === 'done') return;
    pending.state = 'waiting';
    const live = this.connection.current();
    if (!live) {
      this.waiting.push(pending);
      // Starts a dial when the transport was never connected; otherwise reconnects are under way.
      this.connection.waitOpen().catch(() => undefined);
      return;
    }
    const link = this.linkFor(live, pending.target);
    link.queue.push(pending);
    link.flush();
  }

  private linkFor(live: LiveConnection, target: string): SenderLink {
    if (this.linksOf !== live) {
      this.links = new Map();
      this.linksOf = live;
    }
    const existing = this.links.get(target);
    if (existing) return existing;
    const sender = live.connection.open_sender({
      name: `omnibus-send-${++this.linkCounter}-${target}`,
      target: { address: target, capabilities: [TOPIC_CAPABILITY] },
      autosettle: true,
    });
    const link = new SenderLink(sender);
    this.links.set(target, link);
    sender.on('sender_open', () => {
      link.ready = true;
      link.flush();
    });
    sender.on('sendable', () => link.flush());
    sender.on('accepted', (context: EventContext) => this.outcome(link, context, 'accepted'));
    sender.on('rejected', (context: EventContext) => this.outcome(link, context, 'rejected'));
    sender.on('released', (context: EventContext) => this.outcome(link, context, 'released'));
    sender.on('modified', (context: EventContext) => this.outcome(link, context, 'released'));
    const closedByBroker = (context: EventContext) => {
      if (this.links.get(target) === link) this.links.delete(target);
      const error = this.scrub.error(context.sender?.error ?? 'the broker detached the sender link');
      const pending = link.drainAll();
      if (pending.length > 0) this.logger.warn({ err: error, address: target }, 'omnibus amqp10: the broker closed a sender link');
      for (const p of pending) {
        p.state = 'done';
        p.reject(new PublishError(`the broker refused address "${target}": ${error.message}`, { cause: error, topic: p.topic }));
      }
      sender.removeAllListeners();
      sender.on('sender_error', () => undefined);
    };
    sender.on('sender_error', closedByBroker);
    sender.on('sender_close', closedByBroker);
    return link;
  }

  private outcome(link: SenderLink, context: EventContext, outcome: 'accepted' | 'rejected' | 'released'): void {
    const delivery = context.delivery;
    if (!delivery) return;
    const pending = link.inFlight.get(delivery);
    if (!pending) return;
    link.inFlight.delete(delivery);
    if (pending.state === 'done') return;
    if (outcome === 'accepted') {
      pending.state = 'done';
      pending.resolve();
      return;
    }
    if (outcome === 'released' && ++pending.releases <= MAX_RELEASES) {
      this.route(pending);
      return;
    }
    pending.state = 'done';
    const remote = (delivery as unknown as { remote_state?: { error?: unknown } }).remote_state;
    const error = this.scrub.error(remote?.error ?? (outcome === 'released' ? `released ${pending.releases} times` : 'rejected'));
    const condition = conditionOf(error);
    pending.reject(new PublishError(`the broker did not take the message for address "${pending.target}"${condition ? ` (${condition})` : ''}: ${error.message}`, { cause: error, topic: pending.topic }));
  }

  private opened(live: LiveConnection): void {
    const waiting = this.waiting.splice(0);
    for (const pending of waiting) if (this.connection.current() === live) this.route(pending);
  }

  private lost(live: LiveConnection): void {
    if (this.linksOf !== live) return;
    const links = [...this.links.values()];
    this.links = new Map();
    this.linksOf = undefined;
    for (const link of links) for (const pending of link.drainAll()) this.route(pending);
  }

  /** close(): wait up to `timeoutMs` for sends in flight, then refuse whatever is left. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    const inFlight = [...this.links.values()].flatMap((link) => [...link.inFlight.values()]);
    if (inFlight.length > 0 && timeoutMs > 0) {
      const done = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (inFlight.every((p) => p.state === 'done')) {
            clearInterval(check);
            resolve();
          }
        }, 10);
        check.unref();
      });
      await withTimeout(done, timeoutMs, () => new Error('close timed out')).catch(() => undefined);
    }
    const left = [...this.waiting.splice(0), ...[...this.links.values()].flatMap((link) => link.drainAll())];
    for (const pending of left) {
      if (pending.state === 'done') continue;
      pending.state = 'done';
      pending.reject(new ClosedError('the amqp10 transport was closed before the broker accepted the message'));
    }
  }
}
