// Compiled, never run: the published @omnibus/core types, from the tarball, with each Standard
// Schema validator a user may bring. Publish takes the schema's input type (`at` a string) and
// handlers get its output type (`at` a Date, `n` filled in by its default). A `@ts-expect-error`
// line fails the type-check if it ever compiles.
import { defineTopic, type BodyOf, type InputOf } from '@omnibus/core';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import { z as z3 } from 'zod3';

export const topics = {
  zod4: defineTopic('consumer-zod4', z.object({ id: z.string(), at: z.string().transform((s) => new Date(s)), n: z.number().default(1) })),
  zod3: defineTopic('consumer-zod3', z3.object({ id: z3.string(), at: z3.string().transform((s) => new Date(s)), n: z3.number().default(1) })),
  valibot: defineTopic('consumer-valibot', v.object({ id: v.string(), at: v.pipe(v.string(), v.transform((s) => new Date(s))), n: v.optional(v.number(), 1) })),
  arktype: defineTopic('consumer-arktype', type({ id: 'string', at: type('string').pipe((s) => new Date(s)), n: 'number = 1' })),
};

type Topics = typeof topics;

/** What a handler reads, per validator: a Date and a number, whatever the validator. */
export function read<K extends keyof Topics>(body: BodyOf<Topics[K]>): { at: Date; n: number; id: string } {
  return { at: body.at, n: body.n, id: body.id };
}

export const inputs: { [K in keyof Topics]: InputOf<Topics[K]> } = {
  zod4: { id: 'a', at: '2026-12-04T00:00:00Z' },
  zod3: { id: 'a', at: '2026-12-04T00:00:00Z' },
  valibot: { id: 'a', at: '2026-12-04T00:00:00Z' },
  arktype: { id: 'a', at: '2026-12-04T00:00:00Z' },
};

// @ts-expect-error publish takes the input type: `at` is a string there, not a Date
export const wrongZod4: InputOf<Topics['zod4']> = { id: 'a', at: new Date() };
// @ts-expect-error the same with zod 3
export const wrongZod3: InputOf<Topics['zod3']> = { id: 'a', at: new Date() };
// @ts-expect-error the same with valibot
export const wrongValibot: InputOf<Topics['valibot']> = { id: 'a', at: new Date() };
// @ts-expect-error the same with arktype
export const wrongArktype: InputOf<Topics['arktype']> = { id: 'a', at: new Date() };

// @ts-expect-error a handler gets the output type: `at` is a Date there, not a string
export const notAString = (body: BodyOf<Topics['zod4']>): string => body.at;
