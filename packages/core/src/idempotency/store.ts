/**
 * Where an idempotent subscription remembers which messages it has handled (see
 * `subscribe(..., { idempotency })`). Core ships a memory store; `@omnibus/idempotency-redis`
 * and `@omnibus/idempotency-postgres` keep keys across processes and restarts.
 *
 * A key is in one of three states: absent, claimed (by one owner, until its lease ends) or
 * done (until its TTL ends). Every operation is atomic on the store.
 */
export type ClaimResult =
  /** The caller owns the key now, until `leaseMs` from now unless extended: run the handler. */
  | { readonly state: 'claimed' }
  /** Handled before and committed: ack without running the handler. */
  | { readonly state: 'done' }
  /** Another owner holds a live claim (its handler runs now): it ends within `retryAfterMs`. */
  | { readonly state: 'busy'; readonly retryAfterMs: number };

export interface IdempotencyStore {
  /** For logs and errors: 'memory', 'redis', 'postgres'. */
  readonly name: string;
  /**
   * Claim `key` for `owner` for `leaseMs`: granted when the key is absent, or its claim's lease or
   * its done TTL ran out. A live claim of any owner (the same one included) is `busy`.
   */
  claim(key: string, owner: string, leaseMs: number): Promise<ClaimResult>;
  /** Push the lease of `owner`'s claim to `leaseMs` from now. False when the claim is no longer `owner`'s. */
  extend(key: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Mark `key` done for `ttlMs` from now, whoever holds it (the effect happened). */
  commit(key: string, owner: string, ttlMs: number): Promise<void>;
  /** Drop `owner`'s claim (the handler failed), so a redelivery can claim it at once. A no-op otherwise. */
  release(key: string, owner: string): Promise<void>;
}
