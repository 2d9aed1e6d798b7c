export { describeTransportContract } from './contract.js';
export type { ContractOptions } from './contract.js';
export { uniqueName, BusPool, gate, range, decorateTransport } from './fixtures.js';
export type { MakeTransport } from './fixtures.js';
export { hardeningCases } from './hardening.js';
export type { ContractCase, CaseContext } from './hardening.js';
export { inspectionCases } from './inspection.js';
export { boundedCases } from './bounded.js';
export { patternCases } from './patterns.js';
