import type { StandardSchemaV1 } from '@omnibus/core';
import { z } from 'zod';

type Json = Record<string, unknown>;

/** Standard JSON Schema v1 (standardschema.dev/json-schema): a schema that can write itself as JSON Schema. */
interface StandardJsonSchemaConverter {
  readonly input: (options: { readonly target: string; readonly libraryOptions?: Record<string, unknown> }) => Json;
}

/** The JSON Schema of a payload, and why it is `{}` when no schema could be had. */
export interface PayloadSchema {
  readonly schema: Json;
  readonly warning?: string;
}

/**
 * Lenient settings for the libraries that take them: a part that JSON Schema cannot express
 * (a zod `custom`, an arktype predicate) becomes "anything" instead of failing the whole document.
 */
const LENIENT: Readonly<Record<string, Record<string, unknown>>> = {
  zod: { unrepresentable: 'any' },
  arktype: { fallback: (context: { base: unknown }) => context.base },
};

/**
 * The topic schema's input (what travels on the wire) as JSON Schema draft-07, AsyncAPI's schema
 * format, taken from the validator:
 * 1. the Standard JSON Schema extension, `~standard.jsonSchema.input({ target })`: zod 4.2+,
 *    arktype 2.1.28+, valibot through `toStandardJsonSchema()` of `@valibot/to-json-schema`;
 * 2. else `z.toJSONSchema` for a zod 4 schema (zod before 4.2);
 * 3. else `{}` (any payload) with a warning naming the topic (zod 3, valibot without the wrapper).
 */
export function payloadSchema(topic: string, schema: StandardSchemaV1): PayloadSchema {
  const props = schema['~standard'] as StandardSchemaV1.Props & { readonly jsonSchema?: Partial<StandardJsonSchemaConverter> };
  const vendor = props.vendor;
  try {
    if (typeof props.jsonSchema?.input === 'function') {
      return { schema: withoutDialect(props.jsonSchema.input({ target: 'draft-07', ...(LENIENT[vendor] ? { libraryOptions: LENIENT[vendor] } : {}) })) };
    }
    if (isZod4(schema)) {
      return { schema: withoutDialect(z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' })) };
    }
  } catch (error) {
    return fallback(topic, `${vendor} could not write its JSON Schema (${error instanceof Error ? error.message : String(error)})`);
  }
  const hint = vendor === 'valibot' ? ': wrap the schema in toStandardJsonSchema() of @valibot/to-json-schema' : vendor === 'zod' ? ' (zod 3): use zod 4' : '';
  return fallback(topic, `its ${vendor} schema cannot write JSON Schema${hint}`);
}

function fallback(topic: string, why: string): PayloadSchema {
  const warning = `topic "${topic}": ${why}; its payload is documented as any JSON value ({})`;
  return { schema: { description: `No JSON Schema: ${why}.` }, warning };
}

/** AsyncAPI gives the schema format itself: the `$schema` dialect key is dropped. */
function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

/** A zod 4 schema (`_zod` holds its definition; zod 3 has `_def` only). */
function isZod4(schema: unknown): schema is z.ZodType {
  return typeof (schema as { _zod?: { def?: unknown } })._zod?.def === 'object';
}
