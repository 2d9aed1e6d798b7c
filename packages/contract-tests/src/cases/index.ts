/** Every case of the suite, by section, in the order `describeTransportContract` runs them. */
import type { ContractCase } from '../fixtures.js';
import { hardeningCases } from '../hardening.js';
import { inspectionCases } from '../inspection.js';
import { operationCases } from '../operations.js';
import { boundedCases } from '../bounded.js';
import { patternCases } from '../patterns.js';
import { transportCases } from '../transport-cases.js';
import { publishCases } from './publish.js';
import { groupCases } from './groups.js';
import { retryCases } from './retries.js';
import { primitiveCases } from './primitives.js';
import { delayedCases } from './delayed.js';
import { closeCases } from './close.js';

export { publishCases, groupCases, retryCases, primitiveCases, delayedCases, closeCases };

/** Section name (the `describe` block vitest prints) → its cases. */
export type ContractCaseTable = Readonly<Record<string, readonly ContractCase[]>>;

export const contractCases = {
  'publish and receive': publishCases,
  'groups and durability': groupCases,
  'retries and dead letters': retryCases,
  'transport primitives': primitiveCases,
  'delayed publish': delayedCases,
  'graceful close': closeCases,
  hardening: hardeningCases,
  inspection: inspectionCases,
  operations: operationCases,
  bounded: boundedCases,
  patterns: patternCases,
  transport: transportCases,
} as const satisfies ContractCaseTable;
