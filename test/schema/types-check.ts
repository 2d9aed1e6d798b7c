// Type-level checks, compiled by tsc (test/support's typecheck) and never run: for each validator,
// publish takes the schema's input type and handlers get its output type. A line marked
// `@ts-expect-error` fails the typecheck if it ever compiles.
import { type } from 'arktype';
import * as v from 'valibot';
import { expectTypeOf } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod3';
import { defineTopic, type BodyOf, type Bus, type InputOf, type StandardSchemaV1 } from '@omnibus/core';

declare const bus: Bus;

/** The shape every schema below has: `at` travels as a string and arrives as a Date; `n` has a default. */
type Input = { id: string; at: string; n?: number | undefined };
type Output = { id: string; at: Date; n: number };

const zod4 = defineTopic('types-zod4', z.object({ id: z.string(), at: z.string().transform((s) => new Date(s)), n: z.number().default(1) }));
const zod3 = defineTopic('types-zod3', z3.object({ id: z3.string(), at: z3.string().transform((s) => new Date(s)), n: z3.number().default(1) }));
const valibot = defineTopic('types-valibot', v.object({ id: v.string(), at: v.pipe(v.string(), v.transform((s) => new Date(s))), n: v.optional(v.number(), 1) }));
const arktype = defineTopic('types-arktype', type({ id: 'string', at: type('string').pipe((s) => new Date(s)), n: 'number = 1' }));

expectTypeOf<InputOf<typeof zod4>>().toEqualTypeOf<{ id: string; at: string; n?: number | undefined }>();
expectTypeOf<BodyOf<typeof zod4>>().toEqualTypeOf<Output>();
expectTypeOf<InputOf<typeof zod3>>().toEqualTypeOf<{ id: string; at: string; n?: number | undefined }>();
expectTypeOf<BodyOf<typeof zod3>>().toEqualTypeOf<Output>();
expectTypeOf<InputOf<typeof valibot>>().toEqualTypeOf<{ id: string; at: string; n?: number | undefined }>();
expectTypeOf<BodyOf<typeof valibot>>().toEqualTypeOf<Output>();
// arktype writes an optional key with a default as `n?: number` (no `| undefined`).
expectTypeOf<InputOf<typeof arktype>>().toEqualTypeOf<{ id: string; at: string; n?: number }>();
expectTypeOf<BodyOf<typeof arktype>>().toEqualTypeOf<Output>();

export async function publishAndHandle(): Promise<void> {
  for (const topic of [zod4, zod3, valibot, arktype]) {
    await bus.publish(topic, { id: 'a', at: '2026-01-01T00:00:00Z' } satisfies Input);
    await bus.subscribe(
      topic,
      (msg) => {
        expectTypeOf(msg.body.at).toEqualTypeOf<Date>();
        expectTypeOf(msg.body.n).toEqualTypeOf<number>();
      },
      { group: 'g' },
    );
  }

  // Publish takes the input: a Date where the wire carries a string is refused, per validator.
  // @ts-expect-error at is a string on the way in
  await bus.publish(zod4, { id: 'a', at: new Date() });
  // @ts-expect-error at is a string on the way in
  await bus.publish(zod3, { id: 'a', at: new Date() });
  // @ts-expect-error at is a string on the way in
  await bus.publish(valibot, { id: 'a', at: new Date() });
  // @ts-expect-error at is a string on the way in
  await bus.publish(arktype, { id: 'a', at: new Date() });
  // @ts-expect-error id is required
  await bus.publish(valibot, { at: '2026-01-01T00:00:00Z' });

  // Handlers get the output: `at` is no string there.
  await bus.subscribe(
    arktype,
    (msg) => {
      // @ts-expect-error at is a Date in the handler
      msg.body.at.toUpperCase();
    },
    { group: 'g' },
  );
}

// Core's own type is the spec's: the same inference as through a library's schema.
expectTypeOf<StandardSchemaV1.InferOutput<typeof zod4.schema & StandardSchemaV1>>().toEqualTypeOf<Output>();

// @ts-expect-error a plain object is no Standard Schema
defineTopic('types-not-a-schema', { parse: (value: unknown) => value });
