// What the outbox tests need per transport: buses on it (one through an outage switch), a
// consumer that records what arrives, and rows written through the outbox in one transaction.
import { randomBytes } from 'node:crypto';
import {
  ConnectionError,
  createBus,
  createMemoryBroker,
  createMemoryTransport,
  handlerSpy,
  loadTransportModule,
  silentLogger,
  type Bus,
  type HandlerSpy,
  type Subscription,
  type Topic,
  type Transport,
} from '@omnibus/core';
import type { Outbox } from '@omnibus/outbox-postgres';
import { brokerAddress, TcpProxy, viaProxy, type AvailableBroker, type BrokerKind } from '@omnibus/test-support';
import type pg from 'pg';
import { z } from 'zod';
import { cliBroker } from '../cli/cli-broker.js';

export type TargetKind = 'memory' | BrokerKind;

export const OrderSchema = z.strictObject({ n: z.number().int(), key: z.string() });
export type Order = z.infer<typeof OrderSchema>;

/** A way to make the relay's broker unreachable and reachable again. */
export interface Outage {
  readonly bus: Bus;
  /** 'proxy': a TCP proxy refuses and cuts connections; 'transport': the transport's publish rejects (see outageTransport). */
  readonly how: 'proxy' | 'transport';
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export interface Target {
  readonly kind: TargetKind;
  readonly url: string;
  /** Transport options (a prefix of this file's, fast timeouts); for memory://, the shared broker. */
  readonly options: Readonly<Record<string, unknown>>;
  /** A process of its own can reach the same broker (not memory://). */
  readonly shared: boolean;
  openBus(): Promise<Bus>;
  openOutage(): Promise<Outage>;
  cleanup(): Promise<void>;
}

export function memoryTarget(): Target {
  const broker = createMemoryBroker();
  const options = { broker };
  return {
    kind: 'memory',
    url: 'memory://',
    options,
    shared: false,
    openBus: () => createBus({ url: 'memory://', options }),
    openOutage: async () => switchable(createMemoryTransport({ url: 'memory://', options, logger: silentLogger })),
    cleanup: async () => {},
  };
}

export function brokerTarget(endpoint: AvailableBroker): Target {
  const broker = cliBroker(endpoint, 'outbox');
  const options = broker.options;
  return {
    kind: endpoint.kind,
    url: endpoint.url,
    options,
    shared: true,
    openBus: () => broker.openBus(),
    async openOutage() {
      // Kafka clients connect to the addresses the broker advertises after the first metadata
      // request, past any proxy: there the outage is the transport's publish failing instead.
      if (endpoint.kind === 'kafka') {
        const module = await loadTransportModule('kafka');
        return switchable(module.createTransport({ url: endpoint.url, options, logger: silentLogger }));
      }
      const proxy = await TcpProxy.start(brokerAddress(endpoint.url, 0));
      const bus = await createBus({ url: viaProxy(endpoint.url, proxy), options });
      return {
        bus,
        how: 'proxy',
        down: () => {
          proxy.refuse();
          proxy.cutAll();
        },
        up: () => proxy.accept(),
        close: async () => {
          proxy.accept();
          await bus.close();
          await proxy.close();
        },
      };
    },
    cleanup: () => broker.cleanup(),
  };
}

/** A bus on `transport` whose publishes reject with a ConnectionError while down (the broker "refuses"). */
async function switchable(transport: Transport): Promise<Outage> {
  let down = false;
  const wrapped = new Proxy(transport, {
    get(target, property) {
      if (property === 'publish') {
        return (messages: Parameters<Transport['publish']>[0]) => (down ? Promise.reject(new ConnectionError('broker unreachable (test outage)')) : target.publish(messages));
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const bus = await createBus({ transport: wrapped });
  return {
    bus,
    how: 'transport',
    down: () => void (down = true),
    up: () => void (down = false),
    close: () => bus.close(),
  };
}

export const uniqueTag = (label: string): string => `${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

/** A table name of this run: letters, digits and `_` only. */
export const uniqueTable = (label: string): string => `outbox_${label}_${randomBytes(4).toString('hex')}`;

export interface Written {
  readonly id: string;
  readonly key: string;
  readonly n: number;
}

/** `count` rows over `keys` keys (row n has key `k<n % keys>`), in one transaction that commits or rolls back. */
export async function writeRows(
  pool: pg.Pool,
  outbox: Outbox,
  topic: Topic<Order>,
  count: number,
  options: { keys: number; from?: number; outcome?: 'commit' | 'rollback' },
): Promise<Written[]> {
  const client = await pool.connect();
  const rows: Written[] = [];
  try {
    await client.query('BEGIN');
    for (let i = 0; i < count; i++) {
      const n = (options.from ?? 0) + i;
      const key = `k${n % options.keys}`;
      rows.push({ id: await outbox.publish(client, topic, { n, key }, { key }), key, n });
    }
    await client.query(options.outcome === 'rollback' ? 'ROLLBACK' : 'COMMIT');
    return rows;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Every message a group receives, with a wait for "all these ids seen". */
export class Received {
  readonly spy: HandlerSpy<Order> = handlerSpy<Order>();
  private subscription: Subscription | undefined;

  static async start(bus: Bus, topic: Topic<Order>, group = 'check'): Promise<Received> {
    const received = new Received();
    received.subscription = await bus.subscribe(topic, received.spy.handler, { group, concurrency: 1 });
    return received;
  }

  get messages(): { id: string; key: string | undefined; body: Order }[] {
    return this.spy.calls.filter((c) => c.outcome === 'ack').map((c) => ({ id: c.message.id, key: c.message.key, body: c.message.body }));
  }

  /** How many times each id arrived. */
  counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of this.messages) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
    return counts;
  }

  async waitForIds(ids: readonly string[], timeoutMs: number): Promise<void> {
    const missing = () => ids.filter((id) => !this.counts().has(id));
    await this.spy.waitUntil(() => missing().length === 0, { timeoutMs, what: `${ids.length} ids (${missing().length} missing)` });
  }

  close(): Promise<void> {
    return this.subscription?.close() ?? Promise.resolve();
  }
}

/** For each key, the n of its messages in arrival order, first copy of each id only. */
export function firstArrivalsByKey(messages: readonly { id: string; body: Order }[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byKey = new Map<string, number[]>();
  for (const m of messages) {
    if (seen.has(m.id)) continue;
    seen.add(m.id);
    const list = byKey.get(m.body.key) ?? [];
    list.push(m.body.n);
    byKey.set(m.body.key, list);
  }
  return byKey;
}

export const ascending = (list: readonly number[]): boolean => list.every((value, i) => i === 0 || (list[i - 1] as number) < value);
