// A TCP proxy between a client and a broker that a test can break on purpose:
//   cutAll()           reset every open connection (both sides see a dead socket),
//   stall()/resume()   freeze the network: nothing is forwarded and new connections are held,
//                      then everything flows again (nothing is lost inside the proxy);
//                      stall('toBroker') freezes only client → broker (the broker stops reading,
//                      so the client's writes back up) while broker → client keeps flowing,
//   blackhole()        keep the open connections but silently drop everything sent on them from
//                      now on (a half-open connection: neither side is told),
//   refuse()/accept()  the broker is "unreachable": new connections are reset at once.
// Counters (accepted, refused, cuts) change through a Signal, so tests await them instead of sleeping.
import net from 'node:net';
import { Signal } from '@omnibus/core';

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** What stall() stops: both directions (and new connections), or only client → broker. */
export type StallDirection = 'both' | 'toBroker';

interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  /** Client → broker bytes are piped. */
  toBroker: boolean;
  /** Broker → client bytes are piped. */
  toClient: boolean;
  /** blackhole()d: everything read is dropped, for good. */
  dropped: boolean;
}

export interface ProxyCounters {
  /** Client connections accepted and forwarded (or held while stalled); a reconnect is one more. */
  readonly accepted: number;
  /** Client connections reset because the proxy was refusing. */
  readonly refused: number;
  /** Connections destroyed by cutAll(). */
  readonly cut: number;
  /** Connections open now. */
  readonly open: number;
}

export class TcpProxy {
  private readonly pairs = new Set<Pair>();
  private readonly signal = new Signal();
  private stalled: StallDirection | undefined;
  private refusing = false;
  private closed = false;
  private counts = { accepted: 0, refused: 0, cut: 0 };

  private constructor(
    private readonly server: net.Server,
    readonly target: ProxyTarget,
    readonly port: number,
  ) {}

  /** Listen on 127.0.0.1 (`port`, or a free one) and forward to `target`. */
  static async start(target: ProxyTarget, options: { port?: number } = {}): Promise<TcpProxy> {
    const server = net.createServer({ pauseOnConnect: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
    const proxy = new TcpProxy(server, target, port);
    server.on('connection', (socket) => proxy.onConnection(socket));
    return proxy;
  }

  get host(): string {
    return '127.0.0.1';
  }

  get counters(): ProxyCounters {
    return { ...this.counts, open: this.pairs.size };
  }

  /** Reset every open connection, client and broker side. Returns how many were cut. */
  cutAll(): number {
    const pairs = [...this.pairs];
    for (const pair of pairs) this.destroyPair(pair, true);
    this.counts.cut += pairs.length;
    this.signal.notify();
    return pairs.length;
  }

  /**
   * Stop forwarding bytes and hold new connections (a network partition without resets); with
   * 'toBroker' only client → broker stops, and new connections reach the broker.
   */
  stall(direction: StallDirection = 'both'): void {
    this.stalled = direction;
    for (const pair of this.pairs) this.unpipe(pair);
  }

  /** Forward again: buffered bytes flow, held connections get their broker connection. */
  resume(): void {
    this.stalled = undefined;
    for (const pair of this.pairs) {
      if (pair.upstream) this.pipe(pair);
      else this.connectUpstream(pair);
    }
  }

  /**
   * Keep the open connections but drop all their traffic from now on, both ways, without closing
   * anything (new connections are not affected). Returns how many connections were open.
   */
  blackhole(): number {
    for (const pair of this.pairs) {
      pair.dropped = true;
      this.unpipe(pair, 'both');
      for (const socket of [pair.client, pair.upstream]) {
        if (!socket) continue;
        socket.on('data', () => {});
        socket.resume();
      }
    }
    return this.pairs.size;
  }

  /** Reset new connections at once, as a stopped broker would (combine with cutAll()). */
  refuse(): void {
    this.refusing = true;
  }

  accept(): void {
    this.refusing = false;
  }

  /** Resolves when `counter` reaches `value`; rejects with a TimeoutError after `timeoutMs`. */
  waitFor(counter: keyof ProxyCounters, value: number, timeoutMs: number): Promise<void> {
    return this.signal.until(
      () => this.counters[counter] >= value,
      timeoutMs,
      () => `proxy :${this.port} counter ${counter} to reach ${value} (now ${JSON.stringify(this.counters)})`,
    );
  }

  /** Close every connection and stop listening (new connections are refused by the OS). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pair of [...this.pairs]) this.destroyPair(pair, false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: net.Socket): void {
    if (this.refusing || this.closed) {
      this.counts.refused += 1;
      client.on('error', () => {});
      client.resetAndDestroy();
      this.signal.notify();
      return;
    }
    const pair: Pair = { client, upstream: undefined, toBroker: false, toClient: false, dropped: false };
    this.pairs.add(pair);
    this.counts.accepted += 1;
    client.setNoDelay(true);
    client.on('error', () => this.destroyPair(pair, true));
    client.on('close', () => this.destroyPair(pair, false));
    if (this.stalled !== 'both') this.connectUpstream(pair);
    this.signal.notify();
  }

  private connectUpstream(pair: Pair): void {
    if (pair.upstream || pair.dropped || pair.client.destroyed) return;
    const upstream = net.connect({ host: this.target.host, port: this.target.port });
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => this.destroyPair(pair, true));
    upstream.on('close', () => this.destroyPair(pair, false));
    upstream.once('connect', () => this.pipe(pair));
  }

  /** Pipe every direction the current stall allows. */
  private pipe(pair: Pair): void {
    const { client, upstream } = pair;
    if (pair.dropped || !upstream || upstream.connecting || upstream.destroyed || client.destroyed) return;
    if (!pair.toClient && this.stalled !== 'both') {
      pair.toClient = true;
      upstream.pipe(client);
    }
    if (!pair.toBroker && this.stalled === undefined) {
      pair.toBroker = true;
      client.pipe(upstream);
    }
  }

  /** Unpipe (and pause) the directions `direction` stops; bytes already read wait in the sockets. */
  private unpipe(pair: Pair, direction: StallDirection = this.stalled ?? 'both'): void {
    const { client, upstream } = pair;
    if (!upstream) return;
    if (pair.toBroker) {
      pair.toBroker = false;
      client.unpipe(upstream);
      client.pause();
    }
    if (pair.toClient && direction === 'both') {
      pair.toClient = false;
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  private destroyPair(pair: Pair, reset: boolean): void {
    if (!this.pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      socket.on('error', () => {});
      // A reset (RST) looks like a crashed peer or a broken network; the broker then releases
      // whatever the client held (unacked deliveries) instead of waiting for a timeout.
      try {
        if (reset && !socket.connecting) socket.resetAndDestroy();
        else socket.destroy();
      } catch {
        socket.destroy();
      }
    }
    this.signal.notify();
  }
}

/** `url` with its host and port replaced by the proxy's (credentials, vhost and query kept). */
export function viaProxy(url: string, proxy: { readonly host: string; readonly port: number }): string {
  const parsed = new URL(url);
  parsed.hostname = proxy.host;
  parsed.port = String(proxy.port);
  return parsed.toString().replace(/\/$/, '');
}
