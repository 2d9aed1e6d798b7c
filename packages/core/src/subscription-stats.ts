/**
 * Local statistics of one subscription, cheap enough to be always on: counters, a ring of
 * the latest handler durations for percentiles, and per-second buckets for throughput.
 */
export interface SubscriptionStats {
  readonly topic: string;
  readonly group: string;
  /** Deliveries handed over by the transport. */
  readonly received: number;
  readonly acked: number;
  /** Nacked for another attempt. */
  readonly retried: number;
  readonly deadLettered: number;
  /** Dead letters that could not be stored yet (kept on the broker, retried). */
  readonly deadLetterPending: number;
  /** Released for redelivery without an outcome (drain timeout, stopping). */
  readonly released: number;
  /** Settlements that failed (the delivery was released for redelivery instead). */
  readonly failedToSettle: number;
  readonly inFlight: number;
  /** Handler run time over the latest handled messages (up to 1,024), in ms; undefined before the first. */
  readonly handlerMs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly samples: number } | undefined;
  /** Settled deliveries per second over the last `windowSeconds`. */
  readonly throughputPerSecond: number;
  readonly windowSeconds: number;
  /** When a delivery last finished (any outcome); undefined before the first. */
  readonly lastProgressAt: Date | undefined;
}

const SAMPLES = 1_024;
const WINDOW_SECONDS = 60;

export class StatsRecorder {
  received = 0;
  acked = 0;
  retried = 0;
  deadLettered = 0;
  deadLetterPending = 0;
  released = 0;
  failedToSettle = 0;
  lastProgressAt = 0;
  private readonly durations = new Float64Array(SAMPLES);
  private samples = 0;
  /** Settlements per second, indexed by (second % WINDOW_SECONDS), with the second each slot holds. */
  private readonly buckets = new Uint32Array(WINDOW_SECONDS);
  private readonly bucketSecond = new Float64Array(WINDOW_SECONDS);

  handled(durationMs: number): void {
    this.durations[this.samples % SAMPLES] = durationMs;
    this.samples += 1;
  }

  settled(outcome: 'ack' | 'retry' | 'dead-letter' | 'dead-letter-pending' | 'released'): void {
    switch (outcome) {
      case 'ack':
        this.acked += 1;
        break;
      case 'retry':
        this.retried += 1;
        break;
      case 'dead-letter':
        this.deadLettered += 1;
        break;
      case 'dead-letter-pending':
        this.deadLetterPending += 1;
        break;
      case 'released':
        this.released += 1;
        break;
    }
    const now = Date.now();
    this.lastProgressAt = now;
    const second = Math.floor(now / 1_000);
    const slot = second % WINDOW_SECONDS;
    if (this.bucketSecond[slot] !== second) {
      this.bucketSecond[slot] = second;
      this.buckets[slot] = 0;
    }
    this.buckets[slot] = (this.buckets[slot] as number) + 1;
  }

  snapshot(topic: string, group: string, inFlight: number): SubscriptionStats {
    const now = Math.floor(Date.now() / 1_000);
    let settledInWindow = 0;
    for (let slot = 0; slot < WINDOW_SECONDS; slot++) {
      if (now - (this.bucketSecond[slot] as number) < WINDOW_SECONDS) settledInWindow += this.buckets[slot] as number;
    }
    return {
      topic,
      group,
      received: this.received,
      acked: this.acked,
      retried: this.retried,
      deadLettered: this.deadLettered,
      deadLetterPending: this.deadLetterPending,
      released: this.released,
      failedToSettle: this.failedToSettle,
      inFlight,
      handlerMs: this.percentiles(),
      throughputPerSecond: settledInWindow / WINDOW_SECONDS,
      windowSeconds: WINDOW_SECONDS,
      lastProgressAt: this.lastProgressAt ? new Date(this.lastProgressAt) : undefined,
    };
  }

  private percentiles(): SubscriptionStats['handlerMs'] {
    const count = Math.min(this.samples, SAMPLES);
    if (count === 0) return undefined;
    const sorted = this.durations.slice(0, count).sort();
    const at = (q: number) => sorted[Math.min(count - 1, Math.ceil(q * count) - 1)] as number;
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), samples: count };
  }
}
