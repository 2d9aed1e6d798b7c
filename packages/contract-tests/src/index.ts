export { describeTransportContract } from './contract.js';
export type { ContractOptions } from './contract.js';
export { uniqueName, BusPool, gate, range } from './fixtures.js';
export type { MakeTransport } from './fixtures.js';
