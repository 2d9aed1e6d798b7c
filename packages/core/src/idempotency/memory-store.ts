import type { ClaimResult, IdempotencyStore } from './store.js';

type Entry = { readonly state: 'claimed'; readonly owner: string; expiresAt: number } | { readonly state: 'done'; readonly expiresAt: number };

/**
 * Keys in this process: enough for one consumer process and for tests; lost on restart, and
 * not shared between processes (competing consumers on several machines need Redis or
 * PostgreSQL). Expired keys are swept as new ones are claimed.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly name = 'memory';
  private readonly entries = new Map<string, Entry>();
  private sweptAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async claim(key: string, owner: string, leaseMs: number): Promise<ClaimResult> {
    const now = this.now();
    this.sweep(now);
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > now) {
      return entry.state === 'done' ? { state: 'done' } : { state: 'busy', retryAfterMs: entry.expiresAt - now };
    }
    this.entries.set(key, { state: 'claimed', owner, expiresAt: now + leaseMs });
    return { state: 'claimed' };
  }

  async extend(key: string, owner: string, leaseMs: number): Promise<boolean> {
    const entry = this.entries.get(key);
    if (entry?.state !== 'claimed' || entry.owner !== owner) return false;
    entry.expiresAt = this.now() + leaseMs;
    return true;
  }

  async commit(key: string, _owner: string, ttlMs: number): Promise<void> {
    this.entries.set(key, { state: 'done', expiresAt: this.now() + ttlMs });
  }

  async release(key: string, owner: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry?.state === 'claimed' && entry.owner === owner) this.entries.delete(key);
  }

  /** Keys held now (claimed or done, not expired). */
  get size(): number {
    const now = this.now();
    let count = 0;
    for (const entry of this.entries.values()) if (entry.expiresAt > now) count += 1;
    return count;
  }

  /** At most once a second: drop what expired, so the map does not grow without end. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 1_000) return;
    this.sweptAt = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
