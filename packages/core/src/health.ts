/**
 * Health, in a shape a Kubernetes probe can use: `live` says whether the process should keep
 * running (false only once the bus is closed), `ready` whether it should get traffic
 * (connected, no stalled subscription).
 */

/** What a transport says of its connection (optional `Transport.health()`). */
export interface TransportHealth {
  readonly state: 'connecting' | 'connected' | 'reconnecting' | 'closed';
  /** Since when it is in this state. */
  readonly since: Date;
  readonly lastError?: { readonly message: string; readonly at: Date } | undefined;
}

export interface SubscriptionHealth {
  readonly topic: string;
  readonly group: string;
  /** `stalled`: deliveries held for `stallAfterMs` or longer with no delivery finished meanwhile. */
  readonly state: 'running' | 'draining' | 'stalled' | 'closed';
  readonly inFlight: number;
  /** How long the oldest unsettled delivery has been held, in ms (0 when none). */
  readonly oldestInFlightMs: number;
  readonly lastProgressAt: Date | undefined;
  readonly lastError: { readonly message: string; readonly at: Date } | undefined;
}

export interface BusHealth {
  /** healthy: connected, nothing stalled; degraded: a subscription stalled; unhealthy: not connected or closed. */
  readonly status: 'healthy' | 'degraded' | 'unhealthy';
  /** For a liveness probe. */
  readonly live: boolean;
  /** For a readiness probe. */
  readonly ready: boolean;
  readonly transport: { readonly name: string; readonly state: TransportHealth['state'] | 'unknown'; readonly since?: Date | undefined; readonly lastError?: TransportHealth['lastError'] };
  readonly subscriptions: readonly SubscriptionHealth[];
  readonly checkedAt: Date;
}

export interface HealthOptions {
  /** A subscription holding deliveries this long without progress is stalled (default 60,000 ms). */
  readonly stallAfterMs?: number;
}

export const DEFAULT_STALL_AFTER_MS = 60_000;

export function summarizeHealth(name: string, transport: TransportHealth | undefined, subscriptions: readonly SubscriptionHealth[], busClosed: boolean): BusHealth {
  const state = busClosed ? 'closed' : (transport?.state ?? 'unknown');
  const connected = state === 'connected' || state === 'unknown';
  const stalled = subscriptions.some((s) => s.state === 'stalled');
  const status = !connected ? 'unhealthy' : stalled ? 'degraded' : 'healthy';
  return {
    status,
    live: !busClosed,
    ready: connected && !stalled,
    transport: { name, state, since: transport?.since, lastError: transport?.lastError },
    subscriptions,
    checkedAt: new Date(),
  };
}
