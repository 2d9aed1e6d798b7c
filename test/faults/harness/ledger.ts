// Bookkeeping of one scenario: which ids were published (publish resolved = the broker durably
// accepted them), which were received (a handler finished them) and how often. Lost = published and
// never received; duplicates = receptions beyond the first of an id. Counts change through a Signal,
// so tests await them instead of sleeping.
import { isOmnibusError, Signal } from '@omnibus/core';

export interface LedgerSummary {
  readonly published: number;
  /** Distinct ids received (published ones, plus any whose publish rejected but was stored anyway). */
  readonly received: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Publish calls that rejected (and were retried by the test with the same id). */
  readonly rejected: number;
}

export class Ledger {
  private readonly publishedIds = new Set<string>();
  private readonly receivedIds = new Map<string, number>();
  private readonly rejections = new Map<string, number>();
  private readonly unexpected: unknown[] = [];
  private readonly signal = new Signal();
  private readonly startedAt = Date.now();
  private printed = false;
  private deliveries = 0;
  /** Ids both published and received, kept current so waits stay O(1) per notification. */
  private matched = 0;

  constructor(
    readonly transport: string,
    readonly scenario: string,
  ) {}

  /** A publish of `id` resolved. */
  published(id: string): void {
    if (this.publishedIds.has(id)) return;
    this.publishedIds.add(id);
    if (this.receivedIds.has(id)) this.matched += 1;
    this.signal.notify();
  }

  /**
   * A publish of `id` rejected. PublishError and ConnectionError are the documented outcomes;
   * anything else (a raw client error, a TypeError) is kept and fails `assertOnlyDocumentedErrors`.
   */
  rejected(_id: string, error: unknown): void {
    const code = isOmnibusError(error) ? error.code : `non-omnibus ${(error as Error)?.name ?? typeof error}`;
    this.rejections.set(code, (this.rejections.get(code) ?? 0) + 1);
    if (!isOmnibusError(error, 'PUBLISH_FAILED') && !isOmnibusError(error, 'CONNECTION_FAILED')) this.unexpected.push(error);
  }

  /** A handler finished `id` (it will be acked). */
  received(id: string): void {
    const times = this.receivedIds.get(id) ?? 0;
    this.receivedIds.set(id, times + 1);
    if (times === 0 && this.publishedIds.has(id)) this.matched += 1;
    this.deliveries += 1;
    this.signal.notify();
  }

  /** Milliseconds since the ledger was created (the scenario started). */
  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  get publishedCount(): number {
    return this.publishedIds.size;
  }

  get receivedCount(): number {
    return this.receivedIds.size;
  }

  /** Times `id` was received. */
  timesReceived(id: string): number {
    return this.receivedIds.get(id) ?? 0;
  }

  /** Published ids never received so far. */
  lostIds(): string[] {
    return [...this.publishedIds].filter((id) => !this.receivedIds.has(id));
  }

  /** Ids received more than once, with their counts. */
  duplicateIds(): [string, number][] {
    return [...this.receivedIds].filter(([, n]) => n > 1);
  }

  get rejectionsByCode(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.rejections);
  }

  /** Errors other than PublishError / ConnectionError that publish rejected with. */
  get unexpectedErrors(): readonly unknown[] {
    return this.unexpected;
  }

  summary(): LedgerSummary {
    const received = this.receivedIds.size;
    return {
      published: this.publishedIds.size,
      received,
      lost: this.publishedIds.size - this.matched,
      duplicates: this.deliveries - received,
      rejected: [...this.rejections.values()].reduce((a, b) => a + b, 0),
    };
  }

  /** `[faults] <transport> <scenario>: published=N received=N lost=N duplicates=N (details)`. */
  line(details: Record<string, string | number> = {}): string {
    const s = this.summary();
    const extra = { rejected: s.rejected, ...details, time: `${((Date.now() - this.startedAt) / 1000).toFixed(1)}s` };
    const tail = Object.entries(extra)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    return `[faults] ${this.transport} ${this.scenario}: published=${s.published} received=${s.received} lost=${s.lost} duplicates=${s.duplicates} (${tail})`;
  }

  /** Print the summary line once (call it in `finally`, so a failing scenario reports too). */
  print(details?: Record<string, string | number>): void {
    if (this.printed) return;
    this.printed = true;
    console.log(this.line(details));
  }

  waitForPublished(count: number, timeoutMs: number): Promise<void> {
    return this.signal.until(() => this.publishedIds.size >= count, timeoutMs, () => `${count} published (got ${this.publishedIds.size})`);
  }

  waitForReceived(count: number, timeoutMs: number): Promise<void> {
    return this.signal.until(() => this.receivedIds.size >= count, timeoutMs, () => `${count} distinct ids received (got ${this.receivedIds.size})`);
  }

  /** Until `condition()` holds; re-checked on every publish and reception. */
  waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return this.signal.until(condition, timeoutMs, () => `${what} (${JSON.stringify(this.summary())})`);
  }

  /** Resolves once every published id was received; the timeout error lists some missing ids. */
  waitForAllReceived(timeoutMs: number): Promise<void> {
    return this.signal.until(
      () => this.matched === this.publishedIds.size && this.publishedIds.size > 0,
      timeoutMs,
      () => {
        const lost = this.lostIds();
        return `every published id to be received (${lost.length} of ${this.publishedIds.size} missing, e.g. ${lost.slice(0, 5).join(', ')})`;
      },
    );
  }
}
