import type { Transport, TransportInit } from '@omnibus/core';
import { KafkaTransport } from './kafka-transport.js';

/** The transport module entry point: `createBus({ url: 'kafka://host:9092', options })` calls it. */
export function createTransport(init: TransportInit): Transport {
  return new KafkaTransport(init);
}

export { KafkaTransport } from './kafka-transport.js';
export { kafka } from './factory.js';
export type { KafkaFactoryConfig } from './factory.js';
export { kafkajsDriverFactory, platformaticDriverFactory } from './kafka-transport.js';
export type { DriverFactory } from './kafka-transport.js';
export { KafkaOptionsSchema, KAFKA_DRIVERS } from './options.js';
export type { KafkaOptions, KafkaOptionsInput, KafkaDriverName } from './options.js';
export { kafkaCapabilities } from './capabilities.js';
export { TransportHeaders as KafkaTransportHeaders } from './envelope.js';
export type { KafkaDriver, GroupMember, MemberHandlers, MemberSettings } from './driver/driver.js';
