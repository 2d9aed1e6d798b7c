import { ConfigError } from '../errors.js';

/** The most deliveries one subscription may hold unsettled (what core's subscribe options allow). */
export const MAX_CONCURRENCY = 10_000;

/**
 * The checks that belong to the Transport interface, for a transport that is called directly
 * (the contract suite does, so may a third party's code): core's bus has checked them already
 * for everything it sends, so a transport calls these only at its own entry points.
 */
export function assertConcurrency(value: unknown, field = 'concurrency'): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY) {
    throw new ConfigError(field, `must be an integer from 1 to ${MAX_CONCURRENCY}, got ${typeof value === 'number' ? String(value) : typeof value}`);
  }
}

/** Every header value a string (the wire carries strings only), naming the first that is not. */
export function assertHeaderValues(headers: Readonly<Record<string, unknown>>, field = 'headers'): void {
  for (const name in headers) {
    if (typeof headers[name] !== 'string') throw new ConfigError(`${field}.${name}`, 'header values must be strings');
  }
}
