import { parseTopicBound, type TopicBound } from './bound.js';
import { bytesCodec, type Codec } from './codec.js';
import { ConfigError } from './errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/**
 * Portable across every broker: Kafka topic names, NATS subject tokens, Redis keys, AMQP
 * exchanges. Names start with a letter or digit, so a name starting with anything else
 * (`_`, `.`, `-`) is free for a transport's internal objects: no user name can reach it.
 */
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
export const MAX_TOPIC_NAME_LENGTH = 200;
/**
 * A topic defined with a schema leaves room for its dead-letter topic (`<topic>.dlq`) and
 * that one's own (`<topic>.dlq.dlq`, where a reader of dead letters fails), within 200.
 */
export const MAX_DEFINED_TOPIC_NAME_LENGTH = MAX_TOPIC_NAME_LENGTH - 2 * '.dlq'.length;
/**
 * Group names may not contain dots: RabbitMQ queues and Kafka group ids are `<topic>.<group>`,
 * split back at the last dot (a group `b.c` of topic `a` would share topic `a.b`'s group `c`),
 * and NATS consumer names cannot hold one. The rule is core's because three transports need it.
 */
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/;

/**
 * A named, typed topic. The schema (any Standard Schema: zod, valibot, arktype, ...) validates
 * bodies before publishing and after receiving; its output types `msg.body`.
 */
export interface Topic<TBody = unknown, TInput = TBody> {
  readonly name: string;
  /**
   * `undefined`: the body is not validated (raw topics). Publishing takes the schema's input
   * type (`TInput`, before defaults and transforms); handlers get its output (`TBody`).
   */
  readonly schema: StandardSchemaV1<TInput, TBody> | undefined;
  /** `undefined`: the bus's codec (JSON by default). */
  readonly codec: Codec | undefined;
  /** `undefined`: unbounded (the broker keeps everything published while consumers are away). */
  readonly bound?: TopicBound | undefined;
}

/** What a handler receives of a topic (the schema's output). */
export type BodyOf<T> = T extends Topic<infer B, infer _I> ? B : never;
/** What publishing to a topic takes (the schema's input). */
export type InputOf<T> = T extends Topic<infer _B, infer I> ? I : never;

export interface TopicOptions {
  readonly codec?: Codec;
  /**
   * Cap what the topic keeps waiting (traffic shaping): e.g. `{ maxMessages: 1000, overflow: 'reject' }`
   * makes a publish beyond it reject at once with a QueueFullError. Every process that publishes
   * to or consumes the topic must define it with the same bound.
   */
  readonly bound?: TopicBound;
}

/**
 * A topic whose bodies `schema` validates: any validator implementing Standard Schema v1 (zod
 * 3.24+ and 4, valibot 1, arktype 2, ...). Publishing takes the schema's input type, handlers get
 * its output; a schema may validate synchronously or return a promise.
 */
export function defineTopic<TSchema extends StandardSchemaV1>(
  name: string,
  schema: TSchema,
  options: TopicOptions = {},
): Topic<StandardSchemaV1.InferOutput<TSchema>, StandardSchemaV1.InferInput<TSchema>> {
  assertTopicName(name);
  assertStandardSchema(schema);
  if (name.length > MAX_DEFINED_TOPIC_NAME_LENGTH) {
    throw new ConfigError('topic', `"${name}" is ${name.length} characters: a topic may have at most ${MAX_DEFINED_TOPIC_NAME_LENGTH}, so that its dead-letter topics ("<topic>.dlq", "<topic>.dlq.dlq") fit in ${MAX_TOPIC_NAME_LENGTH}`);
  }
  const bound = options.bound === undefined ? undefined : parseTopicBound(options.bound, 'bound');
  return Object.freeze({
    name,
    schema: schema,
    codec: options.codec,
    bound,
  });
}

/** A schema without `~standard` (zod before 3.24, a plain object) would fail on the first message: refuse it here. */
function assertStandardSchema(schema: unknown): void {
  const props = (schema as { '~standard'?: { version?: unknown; validate?: unknown } } | null | undefined)?.['~standard'];
  if (typeof props?.validate !== 'function' || props.version !== 1) {
    throw new ConfigError('schema', 'is not a Standard Schema v1 validator (no "~standard.validate"): use zod 3.24+ or 4, valibot 1, arktype 2 or another Standard Schema library');
  }
}

/** A topic whose bodies are bytes, neither decoded nor validated (e.g. to read a dead-letter topic). */
export function rawTopic(name: string, options: { readonly bound?: TopicBound } = {}): Topic<Uint8Array> {
  assertTopicName(name);
  const bound = options.bound === undefined ? undefined : parseTopicBound(options.bound, 'bound');
  return Object.freeze({ name, schema: undefined, codec: bytesCodec, bound });
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
