import { DEAD_LETTER_GROUP, DeadLetterHeaders, type Bus, type Delivery, type TransportMessage, type TransportSubscription } from '@omnibus/core';

/**
 * Reading a dead-letter topic without losing anything: a subscription of the group core keeps
 * dead letters for (`omnibus-dead-letter`), straight on the transport, so no retry policy runs
 * and nothing is acked unless a command decides to. A delivery handed to `visit` belongs to the
 * visitor: it acks it (replay, purge) or holds it and releases it at the end (list, show, and
 * whatever a filter leaves). A held delivery is not handed over again while held, so a scan
 * sees each dead letter once; the transport's `nack` (or close) puts it back for the next reader.
 *
 * A dead letter held longer than the broker's redelivery timeout (Redis claimIdleMs, NATS
 * ackWaitMs) is handed over again while the first copy is still held: such a copy is not
 * visited (a list would show it twice, a replay republish it twice): it is held and released on
 * close(), or acked with the first copy once the visitor says it removed that one (`removed`);
 * a copy of one already removed is acked at once (released, it would come back).
 *
 * There is no end to a topic in the transport interface, so a scan ends when no dead letter came
 * for a while (`idleMs`; `firstWaitMs` before the first one), when the command says it has
 * enough, when every slot of the read window is held, or on Ctrl-C.
 */
export interface ScanSettings {
  /** The dead-letter topic (`<topic>.dlq`). */
  readonly topic: string;
  /** Most deliveries handed over and not settled at once (held ones included). */
  readonly window: number;
  readonly firstWaitMs: number;
  readonly idleMs: number;
  /** Dead letters the broker counted before the scan (bus.inspect), when it counts them exactly. */
  readonly expected: number | undefined;
  readonly signal: AbortSignal;
  readonly onError: (error: Error) => void;
}

export type ScanEnd =
  /** Nothing more came within the idle time. */
  | 'idle'
  /** The command had what it wanted (a limit, the id it looked for). */
  | 'enough'
  /** Every slot of the read window holds a dead letter the command keeps. */
  | 'window-full'
  /** Ctrl-C or SIGTERM. */
  | 'interrupted';

type ScanState = { readonly kind: 'idle-before-start' } | { readonly kind: 'reading' } | { readonly kind: 'ended'; readonly end: ScanEnd };

/** Once the broker's own count was reached, wait only this long for stragglers (new dead letters). */
const AFTER_EXPECTED_IDLE_MS = 250;

export class DeadLetterScan {
  private state: ScanState = { kind: 'idle-before-start' };
  private subscription: TransportSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Promise<void>>();
  private endNow: ((end: ScanEnd) => void) | undefined;
  /** The dead letters handed over so far, by identity (see identityOf). */
  private readonly identities = new Set<string>();
  /** Copies handed over again while the first was held, by identity: released on close(). */
  private readonly copies = new Map<string, Delivery[]>();
  /** Identities the visitor removed (acked): their copies are acked too. */
  private readonly removedIdentities = new Set<string>();
  /** Distinct dead letters handed over so far. */
  seen = 0;

  /**
   * Dead letters the broker counted before the scan that it did not hand over, when it counts
   * exactly: held by a reader that stopped without releasing them (a replay SIGKILLed halfway),
   * until the broker redelivers them (Redis claimIdleMs, NATS ackWaitMs, Kafka's session
   * timeout), or taken by another reader meanwhile.
   */
  get unseen(): number {
    return Math.max(0, (this.settings.expected ?? 0) - this.seen);
  }
  /** Deliveries the visitor holds (does not settle until the end). */
  held = 0;

  constructor(
    private readonly bus: Bus,
    private readonly settings: ScanSettings,
  ) {}

  /** Read until the scan ends; every delivery goes to `visit`. Resolves once every visit finished. */
  async run(visit: (delivery: Delivery) => Promise<void> | void): Promise<ScanEnd> {
    const ended = new Promise<ScanEnd>((resolve) => (this.endNow = resolve));
    const onAbort = () => this.end('interrupted');
    this.settings.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.settings.expected === 0) return 'idle';
      this.state = { kind: 'reading' };
      this.subscription = await this.bus.transport.subscribe({
        topic: this.settings.topic,
        group: DEAD_LETTER_GROUP,
        concurrency: this.settings.window,
        onDelivery: (delivery) => this.deliver(delivery, visit),
        onError: this.settings.onError,
      });
      if (this.settings.signal.aborted) this.end('interrupted');
      this.armIdle();
      const end = await ended;
      await this.subscription.stop();
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      return end;
    } finally {
      this.settings.signal.removeEventListener('abort', onAbort);
      clearTimeout(this.timer);
    }
  }

  /** End the scan (the command has enough); idempotent. */
  end(end: ScanEnd): void {
    if (this.state.kind === 'ended') return;
    this.state = { kind: 'ended', end };
    clearTimeout(this.timer);
    this.endNow?.(end);
  }

  /** The visitor keeps this delivery until the end: counts toward a full window. */
  hold(): void {
    this.held += 1;
    if (this.held >= this.settings.window) this.end('window-full');
  }

  /** Release the subscription: anything still unsettled is redelivered to the next reader. */
  async close(): Promise<void> {
    const copies = [...this.copies.values()].flat();
    this.copies.clear();
    await Promise.allSettled(copies.map((delivery) => delivery.nack()));
    await this.subscription?.close();
  }

  /** The visitor acked this dead letter (replayed, purged): ack its copies, now and later. */
  async removed(message: TransportMessage): Promise<void> {
    const identity = identityOf(message);
    this.removedIdentities.add(identity);
    const copies = this.copies.get(identity) ?? [];
    this.copies.delete(identity);
    await Promise.allSettled(copies.map((delivery) => delivery.ack()));
  }

  private deliver(delivery: Delivery, visit: (delivery: Delivery) => Promise<void> | void): void {
    if (this.state.kind !== 'reading') {
      // Handed over after the end: not looked at, released at once.
      void delivery.nack().catch(() => {});
      return;
    }
    const identity = identityOf(delivery.message);
    if (this.removedIdentities.has(identity)) {
      void delivery.ack().catch(() => {});
      return;
    }
    if (this.identities.has(identity)) {
      this.copies.set(identity, [...(this.copies.get(identity) ?? []), delivery]);
      return;
    }
    this.identities.add(identity);
    this.seen += 1;
    clearTimeout(this.timer);
    const visiting = Promise.resolve()
      .then(() => visit(delivery))
      .catch((error: unknown) => this.settings.onError(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        this.pending.delete(visiting);
        this.armIdle();
      });
    this.pending.add(visiting);
  }

  /**
   * The idle timer runs only while no visit is in progress: a slow republish is not idleness.
   * While the broker counted more dead letters than were handed over, the rest are known to be
   * there (released by a read that just ended, and on their way back: Redis moves them with its
   * scheduler), so the idle time is doubled, up to the wait for the first one (not more: a count
   * that is off by one would make every read wait that long).
   */
  private armIdle(): void {
    if (this.state.kind !== 'reading' || this.pending.size > 0) return;
    clearTimeout(this.timer);
    const { expected, firstWaitMs, idleMs } = this.settings;
    let wait: number;
    if (expected === undefined) wait = this.seen === 0 ? firstWaitMs : idleMs;
    else wait = this.seen >= expected ? AFTER_EXPECTED_IDLE_MS : Math.max(idleMs, Math.min(firstWaitMs, 2 * idleMs));
    this.timer = setTimeout(() => this.end('idle'), wait);
  }
}

/**
 * What makes a dead letter itself: the message id (the original's), the group that dead-lettered
 * it and when (one message dead-lettered by two groups, or again after a replay, is two).
 */
export function identityOf(message: TransportMessage): string {
  return JSON.stringify([message.id, message.headers[DeadLetterHeaders.group] ?? '', message.headers[DeadLetterHeaders.lastFailureAt] ?? '']);
}
