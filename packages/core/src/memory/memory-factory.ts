import { transportFactory, type TransportFactory } from '../transport-factory.js';
import { createMemoryTransport, type MemoryTransportOptions } from './memory-transport.js';

/**
 * The in-memory transport as a factory: `createBus({ transport: memory() })`, or
 * `memory({ broker })` to share one broker between buses, `memory({ faults: { seed: 7, duplicates: 0.1 } })`
 * for seeded fault injection. Unknown options are a ConfigError naming the key.
 */
export function memory(options?: MemoryTransportOptions): TransportFactory {
  return transportFactory('memory', options, (init) => createMemoryTransport(init), 'memory://');
}
