import type { z } from 'zod';
import { bytesCodec, type Codec } from './codec.js';
import { ConfigError } from './errors.js';

/** Portable across every broker: Kafka topic names, NATS subject tokens, Redis keys, AMQP exchanges. */
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Group names may not contain dots (NATS durable names). */
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/;

/**
 * A named, typed topic. The schema validates bodies before publishing and after
 * receiving; `z.infer` of it types `msg.body`.
 */
export interface Topic<TBody = unknown> {
  readonly name: string;
  /** `undefined`: the body is not validated (raw topics). */
  readonly schema: z.ZodType<TBody> | undefined;
  /** `undefined`: the bus's codec (JSON by default). */
  readonly codec: Codec | undefined;
}

export type BodyOf<T> = T extends Topic<infer B> ? B : never;

export interface TopicOptions {
  readonly codec?: Codec;
}

export function defineTopic<TSchema extends z.ZodType>(
  name: string,
  schema: TSchema,
  options: TopicOptions = {},
): Topic<z.infer<TSchema>> {
  assertTopicName(name);
  return Object.freeze({ name, schema: schema as z.ZodType<z.infer<TSchema>>, codec: options.codec });
}

/** A topic whose bodies are bytes, neither decoded nor validated (e.g. to read a dead-letter topic). */
export function rawTopic(name: string): Topic<Uint8Array> {
  assertTopicName(name);
  return Object.freeze({ name, schema: undefined, codec: bytesCodec });
}

export function assertTopicName(name: string, field = 'topic'): void {
  if (!TOPIC_NAME.test(name)) {
    throw new ConfigError(field, `"${name}" is not a valid topic name: use 1-200 characters of letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
}

export function assertGroupName(name: string, field = 'group'): void {
  if (!GROUP_NAME.test(name)) {
    throw new ConfigError(field, `"${name}" is not a valid group name: use 1-200 characters of letters, digits, "_" or "-" (no dots), starting with a letter or digit`);
  }
}
