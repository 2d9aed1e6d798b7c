import { createInbox, nanos, type Msg, type Subscription } from '@nats-io/transport-node';
import { backoffDelay, ConnectionError, exponentialBackoff, withTimeout, type Logger } from '@omnibus/core';
import { asError, errorText } from './errors.js';
import type { Link, LinkListener } from './link.js';
import { Received, type SettleSink } from './received.js';

export interface PullWorkerSettings {
  readonly link: Link;
  readonly stream: string;
  readonly consumer: string;
  /** Most messages handed over and not settled at once. */
  readonly concurrency: number;
  readonly expiresMs: number;
  readonly ackWaitMs: number;
  readonly requestTimeoutMs: number;
  readonly secrets: readonly string[];
  readonly logger: Logger;
  /** Hand a message over (never more than `concurrency` unsettled). */
  readonly onMessage: (received: Received) => void;
  /** Non-fatal trouble the worker recovers from by itself. */
  readonly onError: (error: Error) => void;
  /** Make the stream and consumer exist again (they may have been lost with the server's state). */
  readonly recover: () => Promise<void>;
}

interface Pull {
  readonly batch: number;
  readonly subscription: Subscription;
  received: number;
  watchdog: NodeJS.Timeout | undefined;
  /** Last message or heartbeat of this pull (the watchdog re-arms itself from it). */
  lastActivity: number;
}

/** Pulling again after a failure: 100 ms doubling up to 5 s, with jitter. */
const RETRY_BACKOFF = exponentialBackoff(100, 5_000, { jitter: true });
/** A pull for fewer than half the slots waits this long for more slots to free up. */
const TOP_UP_MS = 20;

/**
 * Where a worker is. While it runs it is in exactly one of:
 * - `idle`: no pull request open (no room, not connected, or `topUp` pending: a pull for the
 *   few free slots, after a short wait);
 * - `pulling`: one pull request is open;
 * - `retrying`: after a failure, waiting out the backoff before pumping again;
 * - `healing`: checking the connection and making the consumer exist again.
 * It ends `stopped` (stop() or close(): nothing is pulled any more, what was handed over can
 * still be settled), `halted` (the connection is closed for good) or `closed` (close() is done).
 *
 * Transitions: start/pump idle → pulling (or idle with a top-up); finishPull/drainPull pulling →
 * idle; heal idle → healing → idle; retryLater idle → retrying; the retry timer, or a
 * reconnect, retrying → idle; stop, halt and close end it. Leaving a state clears its timer.
 */
type State =
  | { readonly kind: 'idle'; readonly topUp?: NodeJS.Timeout }
  | { readonly kind: 'pulling'; readonly pull: Pull }
  | { readonly kind: 'retrying'; readonly timer: NodeJS.Timeout }
  | { readonly kind: 'healing' }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'halted' }
  | { readonly kind: 'closed' };

const IDLE: State = { kind: 'idle' };

/**
 * Pulls messages of one durable consumer with explicit flow control: one pull
 * request at a time, asking only for as many messages as there is room for, on a
 * fresh inbox each time. A new pull starts once at least half the slots are free
 * (or, with fewer free, after a short wait): pulling for every single freed slot
 * would cost a request per message.
 *
 * It does not use nats.js `consume()`, whose refilling pull keeps its inbox across
 * reconnects and asks for a full batch again after one: a pull request the server
 * still holds from before a cut connection and the new one would both deliver, and
 * a pull lost with a restarted server is only noticed when heartbeats go missing.
 * Here:
 * - on disconnect the current pull is abandoned (its inbox unsubscribed, so the
 *   server drops the request for lack of interest); on reconnect a new one starts;
 * - idle heartbeats are requested; when neither a message nor a heartbeat came for
 *   three heartbeat intervals, the pull is abandoned, the connection is checked with a
 *   PING (no PONG in time: forced reconnect), the consumer is re-created if it is
 *   gone, and a new pull starts. This is what keeps consumption from stalling after
 *   a reconnect, a server restart, or a half-open TCP connection;
 * - a message that arrives while all slots are taken (a late reply of an old pull)
 *   is buffered, kept alive with `+WPI`, and handed over when a slot frees up.
 */
export class PullWorker implements LinkListener, SettleSink {
  private readonly unsettled = new Set<Received>();
  private readonly buffer: Received[] = [];
  private state: State = IDLE;
  /** pump() is on the stack (it hands over, and a handler may settle at once). */
  private pumping = false;
  /** Failed pulls in a row (the retry backoff grows with them). */
  private failures = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly threshold: number;
  private readonly heartbeatMs: number;
  private readonly nextSubject: string;

  constructor(private readonly settings: PullWorkerSettings) {
    this.heartbeatMs = Math.min(5_000, Math.max(500, Math.round(settings.expiresMs / 6)));
    this.nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${settings.stream}.${settings.consumer}`;
    this.threshold = Math.max(1, Math.ceil(settings.concurrency / 2));
  }

  start(): void {
    this.settings.link.add(this);
    // Long handlers: tell the server every third of the ack wait that we are still at it.
    const period = Math.max(100, Math.floor(this.settings.ackWaitMs / 3));
    this.keepAlive = setInterval(() => this.sendProgress(period), period);
    this.keepAlive.unref();
    this.pump();
  }

  /** Stop pulling; what was handed over can still be settled. Buffered messages go back to the server. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const pull = this.openPull;
    this.enter({ kind: 'stopped' });
    // Messages the server sent before it saw the unsubscribe still arrive: they are buffered and
    // nak'ed below (redelivered at once) instead of being lost until their ack wait expires.
    if (pull) await withTimeout(this.drainPull(pull), this.settings.requestTimeoutMs, () => new Error('drain timed out')).catch(() => {});
    await this.release(this.buffer.splice(0));
    // Settlements are not confirmed one by one: make sure the server has them.
    await this.settings.link.flush(this.settings.requestTimeoutMs);
  }

  /** Stop, and release every unsettled message for redelivery. */
  async close(): Promise<void> {
    await this.stop();
    await this.release([...this.buffer.splice(0), ...this.unsettled]);
    // The acks of handlers that finished since stop(), and these naks, reach the server before close() returns.
    await this.settings.link.flush(this.settings.requestTimeoutMs);
    clearInterval(this.keepAlive);
    this.settings.link.remove(this);
    this.enter({ kind: 'closed' });
  }

  /**
   * Nak `messages` (redelivered at once, with the delivery counted). First the server is made to
   * forget the pull requests this worker left behind: nats-server 2.9 (seen on 2.9.10), redelivering
   * a nak'ed message while only pull requests whose inbox is gone are waiting, drops those requests
   * and then "redoes" the message as if it were a new one (`sseq--`): the next pull gets the stream's
   * last delivered sequence again with delivery count 1, so a release by close() would never be
   * counted (and the nak'ed message itself waits out its ack wait). A drained pull is such a request
   * until it expires. A consumer info request drops waiting requests without interest
   * (processWaiting), so after its answer no stale request of ours is left to hit that path.
   */
  private async release(messages: readonly Received[]): Promise<void> {
    if (messages.length === 0) return;
    await this.forgetStalePulls();
    await Promise.all(messages.map((received) => received.nak()));
  }

  private async forgetStalePulls(): Promise<void> {
    const { link, stream, consumer, requestTimeoutMs } = this.settings;
    if (!link.connected || link.nc.isClosed()) return;
    try {
      await link.nc.request(`$JS.API.CONSUMER.INFO.${stream}.${consumer}`, undefined, { timeout: requestTimeoutMs });
    } catch {
      // No answer: nak anyway (the message is redelivered, at worst with its count not raised).
    }
  }

  settled(received: Received): void {
    this.unsettled.delete(received);
    const index = this.buffer.indexOf(received);
    if (index !== -1) this.buffer.splice(index, 1);
    // Not synchronously: the settle call may come from inside onMessage.
    queueMicrotask(() => this.pump());
  }

  onDisconnect(): void {
    this.abandonPull();
    this.settings.onError(
      new ConnectionError(`connection to NATS lost while consuming ${this.describeConsumer()}; ${this.unsettled.size} unsettled deliveries will be redelivered, consuming resumes after the reconnect`),
    );
    // Buffered messages came through the lost connection: the server redelivers them.
    for (const received of this.buffer.splice(0)) received.drop();
  }

  onReconnect(): void {
    this.failures = 0;
    // Connected again: pull now, without waiting out the backoff.
    if (this.state.kind === 'retrying') this.enter(IDLE);
    this.pump();
  }

  /** Not stopped, halted or closed. */
  private get running(): boolean {
    const { kind } = this.state;
    return kind !== 'stopped' && kind !== 'halted' && kind !== 'closed';
  }

  /** The pull request open now, if any. */
  private get openPull(): Pull | undefined {
    return this.state.kind === 'pulling' ? this.state.pull : undefined;
  }

  /** Move to `next`, clearing the timer of the state left. */
  private enter(next: State): void {
    const left = this.state;
    if (left.kind === 'retrying') clearTimeout(left.timer);
    else if (left.kind === 'idle') clearTimeout(left.topUp);
    this.state = next;
  }

  /** Hand over what the buffer holds, then ask for as many messages as there is room for. */
  private pump(): void {
    if (!this.running || this.pumping) return;
    this.pumping = true;
    try {
      while (this.buffer.length > 0 && this.unsettled.size < this.settings.concurrency) {
        this.handOver(this.buffer.shift() as Received);
      }
      const state = this.state;
      if (state.kind !== 'idle' || !this.settings.link.connected) return;
      if (this.settings.link.nc.isClosed()) {
        this.halt();
        return;
      }
      const room = this.settings.concurrency - this.unsettled.size - this.buffer.length;
      if (room >= this.threshold) {
        this.startPull(room);
      } else if (room > 0 && !state.topUp) {
        // Few slots free (long handlers hold the others): pull for them after a short wait anyway.
        const topUp = setTimeout(() => {
          if (this.state.kind === 'idle' && this.state.topUp === topUp) this.state = IDLE;
          this.topUp();
        }, TOP_UP_MS);
        topUp.unref();
        this.state = { kind: 'idle', topUp };
      }
    } finally {
      this.pumping = false;
    }
  }

  private topUp(): void {
    if (this.pumping || this.state.kind !== 'idle' || !this.settings.link.connected) return;
    const room = this.settings.concurrency - this.unsettled.size - this.buffer.length;
    if (room > 0) this.startPull(room);
  }

  private startPull(batch: number): void {
    const { link } = this.settings;
    const inbox = createInbox();
    // The callback needs the pull, which needs the subscription.
    const ref: { pull?: Pull } = {};
    let subscription: Subscription;
    try {
      // Throws at once on a closed or draining connection (this used to escape from the
      // retry timer as an uncaught exception: see retryLater).
      subscription = link.nc.subscribe(inbox, {
        callback: (error, msg) => {
          if (ref.pull) this.onPullMessage(ref.pull, error, msg);
        },
      });
    } catch (error) {
      this.fail(asError(error));
      return;
    }
    const pull: Pull = { batch, subscription, received: 0, watchdog: undefined, lastActivity: Date.now() };
    ref.pull = pull;
    this.enter({ kind: 'pulling', pull });
    this.armWatchdog(pull);
    try {
      link.nc.publish(this.nextSubject, JSON.stringify({ batch, expires: nanos(this.settings.expiresMs), idle_heartbeat: nanos(this.heartbeatMs) }), { reply: inbox });
    } catch (error) {
      this.finishPull(pull);
      this.fail(asError(error));
    }
  }

  private onPullMessage(pull: Pull, error: Error | null, msg: Msg): void {
    const current = pull === this.openPull;
    if (error) {
      if (!current) return;
      this.finishPull(pull);
      this.fail(error);
      return;
    }
    if (msg.reply?.startsWith('$JS.ACK.')) {
      // Accepted even from a pull being drained: the server delivered it, so it is ours to settle.
      if (current) {
        pull.lastActivity = Date.now();
        this.failures = 0;
        pull.received += 1;
        if (pull.received >= pull.batch) this.finishPull(pull);
      }
      const received = new Received(msg, this.settings.link.epoch, this.settings.link, this);
      if (this.state.kind === 'stopped') {
        // A late reply of the pull stop() drains: released with the buffer once it is drained.
        this.buffer.push(received);
      } else if (!this.running) {
        void received.nak();
      } else if (this.unsettled.size < this.settings.concurrency) {
        this.handOver(received);
      } else {
        this.buffer.push(received);
      }
      if (this.state.kind !== 'pulling') this.pump();
      return;
    }
    if (!current) return;
    pull.lastActivity = Date.now();
    const code = msg.headers?.code ?? 0;
    const description = msg.headers?.description ?? '';
    if (code === 100) {
      // Idle heartbeat: the pull is alive.
      this.failures = 0;
      return;
    }
    this.finishPull(pull);
    if (code === 404 || code === 408) {
      // Expired or nothing to give: ask again.
      this.pump();
    } else if (code === 409 && /leadership change/i.test(description)) {
      this.pump();
    } else if (code === 409 && /consumer deleted/i.test(description)) {
      this.heal(new ConnectionError(`consumer ${this.describeConsumer()} was deleted; re-creating it`));
    } else if (code === 503) {
      this.heal(new ConnectionError(`no responders for ${this.describeConsumer()}; re-creating stream and consumer`));
    } else {
      this.fail(new ConnectionError(`pull from ${this.describeConsumer()} ended with status ${code} ${description}`.trim()));
    }
  }

  private handOver(received: Received): void {
    this.unsettled.add(received);
    try {
      this.settings.onMessage(received);
    } catch (error) {
      this.settings.onError(asError(error));
    }
  }

  /**
   * No message and no heartbeat for 3 intervals: the pull (or the connection) is gone.
   * One timer per pull, not per message: when it fires it re-arms itself for what is
   * left of the interval since the last activity.
   */
  private armWatchdog(pull: Pull, delayMs = this.heartbeatMs * 3): void {
    clearTimeout(pull.watchdog);
    pull.watchdog = setTimeout(() => {
      if (pull !== this.openPull) return;
      const quietFor = Date.now() - pull.lastActivity;
      if (quietFor < this.heartbeatMs * 3) {
        this.armWatchdog(pull, this.heartbeatMs * 3 - quietFor);
        return;
      }
      // The request may still be alive on the server (just slow): drain, keeping late messages.
      void this.drainPull(pull);
      this.heal(new ConnectionError(`no message or heartbeat from ${this.describeConsumer()} for ${this.heartbeatMs * 3} ms; pulling again`));
    }, delayMs);
    pull.watchdog.unref();
  }

  private finishPull(pull: Pull): void {
    clearTimeout(pull.watchdog);
    if (this.openPull === pull) this.enter(IDLE);
    try {
      pull.subscription.unsubscribe();
    } catch {
      // Already closed with the connection.
    }
  }

  /** Unsubscribe, but keep taking the messages the server sent before it processed that. */
  private async drainPull(pull: Pull): Promise<void> {
    clearTimeout(pull.watchdog);
    if (this.openPull === pull) this.enter(IDLE);
    try {
      await pull.subscription.drain();
    } catch {
      // Closed with the connection: the server redelivers what was in flight after the ack wait.
    }
  }

  private abandonPull(): void {
    const pull = this.openPull;
    if (pull) this.finishPull(pull);
  }

  /** Check the connection, make the consumer exist again, then pull again after a backoff. */
  private heal(reason: Error): void {
    this.settings.onError(reason);
    if (this.state.kind !== 'idle') return;
    this.enter({ kind: 'healing' });
    void (async () => {
      const { link } = this.settings;
      try {
        if (!link.connected) return;
        if (!(await link.answers(this.settings.requestTimeoutMs))) {
          // A half-open connection: the client has not noticed yet. Reconnecting re-pulls.
          link.forceReconnect();
          return;
        }
        await this.settings.recover();
      } catch (error) {
        this.settings.onError(new ConnectionError(`cannot restore ${this.describeConsumer()}: ${errorText(error, this.settings.secrets)}`, { cause: error }));
      } finally {
        if (this.state.kind === 'healing') this.enter(IDLE);
        this.retryLater();
      }
    })();
  }

  private fail(error: Error): void {
    if (this.settings.link.nc.isClosed()) {
      this.halt();
      return;
    }
    this.settings.onError(error);
    this.retryLater();
  }

  /**
   * The connection is closed for good (closed by the transport, or given up by the client):
   * nothing can be pulled any more, so stop instead of retrying. The deliveries handed over
   * are redelivered by the server after the ack wait.
   */
  private halt(): void {
    if (!this.running) return;
    const pull = this.openPull;
    this.enter({ kind: 'halted' });
    if (pull) this.finishPull(pull);
    this.settings.onError(
      new ConnectionError(`the NATS connection is closed: stopped pulling from ${this.describeConsumer()}; ${this.unsettled.size + this.buffer.length} unsettled deliveries are redelivered after the ack wait; create a new transport to consume again`),
    );
  }

  /**
   * Pump again after a backoff. The timer's callback runs outside any caller: whatever
   * pump() throws there must reach onError, never the process (a subscribe on a connection
   * closed meanwhile once came out of here as an uncaught exception).
   */
  private retryLater(): void {
    if (this.state.kind !== 'idle') return;
    this.failures += 1;
    const timer = setTimeout(() => {
      if (this.state.kind === 'retrying' && this.state.timer === timer) this.state = IDLE;
      try {
        this.pump();
      } catch (error) {
        this.fail(asError(error));
      }
    }, backoffDelay(RETRY_BACKOFF, this.failures));
    timer.unref();
    this.enter({ kind: 'retrying', timer });
  }

  private sendProgress(period: number): void {
    const due = Date.now() - period;
    for (const received of [...this.unsettled, ...this.buffer]) if (received.lastProgress <= due) received.progress();
  }

  private describeConsumer(): string {
    return `${this.settings.stream}/${this.settings.consumer}`;
  }
}
