export { startBroker, BrokerUnavailableError } from './start-broker.js';
export type { Broker, BrokerAttempt, StartBrokerOptions } from './start-broker.js';
export { BROKER_DEFAULTS, BROKER_IMAGES, BROKER_KINDS, BROKER_SOURCES } from './kinds.js';
export type { BrokerDefaults, BrokerImage, BrokerKind, BrokerSource, ParsedAddress } from './kinds.js';
export { KAFKA_VERSION } from './local.js';
export { probeBroker } from './probes.js';
export type { ProbeResult } from './probes.js';
