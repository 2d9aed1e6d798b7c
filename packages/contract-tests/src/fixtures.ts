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

/** What a contract case receives: a pool of fresh buses and the suite's options. */
export interface CaseContext {
  readonly pool: BusPool;
  /** Upper bound for each wait on a message, in ms (the suite's `waitTimeoutMs`). */
  readonly timeoutMs: number;
  /** Messages in the volume case (the suite's `volume`). */
  readonly volume: number;
}

/**
 * What a case needs of a transport beyond the interface's required methods: a declared
 * capability or an optional method. A case naming one is skipped (with the feature's reason)
 * on a transport that lacks it.
 */
export type Feature =
  | 'delayedPublish'
  | 'delayedRedelivery'
  | 'orderingByKey'
  | 'boundedReject'
  | 'boundedDropOldest'
  | 'boundedRejectByBytes'
  | 'inspect'
  | 'deleteGroup'
  | 'health'
  | 'brokerInfo';

/** A gate written as code (the form before `features`); still honoured, after the features. */
export interface CaseRequirement {
  readonly check: (transport: Transport) => boolean;
  readonly reason: string;
}

export interface ContractCase {
  /** The test's name, as vitest prints it. `{volume}` stands for the suite's `volume` option. */
  readonly name: string;
  /** The promise (of transport.ts, or of the README or bus API) the case proves. */
  readonly promise: string;
  /** What the case needs of the transport; it is skipped, with the feature's reason, when one is missing. */
  readonly features?: readonly Feature[];
  /** A custom gate (for cases of your own that no feature describes); skipped with its reason when false. */
  readonly requires?: CaseRequirement;
  run(context: CaseContext): Promise<void>;
}

type TransportMethod = 'inspect' | 'deleteGroup' | 'health' | 'brokerInfo';
const hasMethod = (name: TransportMethod): CaseRequirement => ({ check: (t) => typeof t[name] === 'function', reason: `transport has no ${name}()` });
const boundedReject = (t: Transport) => (t.capabilities.boundedTopics?.reject ?? 'none') !== 'none';

/** Each feature: how to tell a transport has it, and the skip reason when it does not. */
export const features: Readonly<Record<Feature, CaseRequirement>> = {
  delayedPublish: { check: (t) => t.capabilities.delayedPublish !== 'none', reason: 'transport declares no delayed publish' },
  delayedRedelivery: { check: (t) => t.capabilities.delayedRedelivery !== 'none', reason: 'transport declares no delayed redelivery' },
  orderingByKey: { check: (t) => t.capabilities.orderingByKey, reason: 'transport does not declare orderingByKey' },
  boundedReject: { check: boundedReject, reason: 'transport declares no reject bound' },
  boundedDropOldest: { check: (t) => (t.capabilities.boundedTopics?.dropOldest ?? 'none') !== 'none', reason: 'transport declares no drop-oldest bound' },
  boundedRejectByBytes: { check: (t) => boundedReject(t) && t.capabilities.boundedTopics?.maxBytes === true, reason: 'transport declares no bound in bytes' },
  inspect: hasMethod('inspect'),
  deleteGroup: hasMethod('deleteGroup'),
  health: hasMethod('health'),
  brokerInfo: hasMethod('brokerInfo'),
};

/** Why `transport` cannot run the case (the first missing feature's reason, then `requires`'), or undefined when it can. */
export function missingFeature(transport: Transport, contractCase: Pick<ContractCase, 'features' | 'requires'>): string | undefined {
  for (const feature of contractCase.features ?? []) if (!features[feature].check(transport)) return features[feature].reason;
  const { requires } = contractCase;
  return requires && !requires.check(transport) ? requires.reason : undefined;
}

/** The case's name as the suite prints it: `{volume}` replaced by the suite's option. */
export function caseName(contractCase: Pick<ContractCase, 'name'>, context: Pick<CaseContext, 'volume'>): string {
  return contractCase.name.replaceAll('{volume}', String(context.volume));
}
