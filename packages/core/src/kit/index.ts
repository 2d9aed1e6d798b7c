/**
 * The transport kit: the mechanisms every transport needs, written once in core. A transport
 * (ours or a third party's) maps broker primitives; for backoff, settle-once, deadlines and
 * validation it uses these.
 */
export { SettleOnce, type SettleState } from './settle-once.js';
export { withTimeout, pause, exponentialBackoff } from './timing.js';
export { backoffDelay, type Backoff } from '../backoff.js';
export { assertConcurrency, assertHeaderValues, MAX_CONCURRENCY } from './validation.js';
export { assertDelayMs } from '../delay.js';
export { decodeUrlPart } from './url-part.js';
