import { randomBytes } from 'node:crypto';
import { createBus, type Bus, type BusConfig, type Transport } from '@omnibus/core';

export type MakeTransport = () => Transport | Promise<Transport>;

/** A unique, portable name per test, so tests never see each other's messages. */
export function uniqueName(label: string): string {
  return `ct-${randomBytes(4).toString('hex')}-${label}`;
}

/**
 * Opens buses on fresh transports and closes all of them after the test, even
 * when it failed. `await using` would do the same per bus; a pool keeps tests short.
 */
export class BusPool {
  private readonly buses: Bus[] = [];
  constructor(private readonly makeTransport: MakeTransport) {}

  /** `wrap`: put a decorator around the fresh transport (to slow a call or narrow a capability). */
  async open(config: Omit<BusConfig, 'transport' | 'url'> = {}, wrap?: (transport: Transport) => Transport): Promise<Bus> {
    const made = await this.makeTransport();
    const transport = wrap ? wrap(made) : made;
    const bus = await createBus({ ...config, transport, drainTimeoutMs: config.drainTimeoutMs ?? 5_000 });
    this.buses.push(bus);
    return bus;
  }

  async closeAll(): Promise<void> {
    const buses = this.buses.splice(0);
    await Promise.allSettled(buses.map((bus) => bus.close({ timeoutMs: 2_000 })));
  }
}

/** A promise with its resolver outside, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/**
 * A transport that delegates every call to `inner`, with some calls or capabilities replaced.
 * Tests use it to hold a call at a gate or to lower `maxMessageBytes`, never to fake a broker.
 */
export function decorateTransport(inner: Transport, overrides: { capabilities?: Partial<Transport['capabilities']>; publish?: Transport['publish']; subscribe?: Transport['subscribe'] }): Transport {
  return {
    name: inner.name,
    capabilities: { ...inner.capabilities, ...overrides.capabilities },
    connect: () => inner.connect(),
    publish: overrides.publish ?? ((messages) => inner.publish(messages)),
    ensureGroup: (topic, group) => inner.ensureGroup(topic, group),
    subscribe: overrides.subscribe ?? ((params) => inner.subscribe(params)),
    close: () => inner.close(),
  };
}
