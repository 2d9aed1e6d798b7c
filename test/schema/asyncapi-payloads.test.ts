// `omnibus asyncapi` takes each payload's JSON Schema from the topic's validator: the Standard JSON
// Schema extension (zod 4.2+, arktype, valibot wrapped in toStandardJsonSchema), else z.toJSONSchema
// for a zod 4 schema, else `{}` with a warning naming the topic (zod 3, plain valibot). The document
// with topics of every validator passes the AsyncAPI parser.
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { toStandardJsonSchema } from '@valibot/to-json-schema';
import { type } from 'arktype';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { z as z3 } from 'zod3';
import { defineTopic } from '@omnibus/core';
import { asyncApiDocument, type SchemaTopic } from '@omnibus/cli';

type Json = Record<string, unknown>;

const ORDER_SHAPE = { type: 'object', properties: { orderId: { type: 'string' }, total: { type: 'number' } }, required: ['orderId', 'total'] };

const TOPICS = {
  zod4: defineTopic('pay-zod4', z.object({ orderId: z.string(), total: z.number() })),
  arktype: defineTopic('pay-arktype', type({ orderId: 'string', total: 'number' })),
  valibotWrapped: defineTopic('pay-valibot-json', toStandardJsonSchema(v.object({ orderId: v.string(), total: v.number() }))),
  valibotPlain: defineTopic('pay-valibot', v.object({ orderId: v.string(), total: v.number() })),
  zod3: defineTopic('pay-zod3', z3.object({ orderId: z3.string(), total: z3.number() })),
};

function documentOf(topics: readonly SchemaTopic[]): { doc: Json; warnings: string[] } {
  const warnings: string[] = [];
  const doc = asyncApiDocument({ topics, title: 'Payloads', version: '1.0.0', url: undefined, options: {}, warn: (message) => warnings.push(message) });
  return { doc, warnings };
}

function payloadOf(doc: Json, channel: string): Json {
  const channels = doc.channels as Record<string, { messages: Record<string, { payload: Json }> }>;
  return Object.values(channels[channel]?.messages ?? {})[0]?.payload as Json;
}

describe('asyncapi payloads per validator', () => {
  it.each([
    ['zod 4', TOPICS.zod4, 'pay-zod4'],
    ['arktype', TOPICS.arktype, 'pay-arktype'],
    ['valibot with toStandardJsonSchema', TOPICS.valibotWrapped, 'pay-valibot-json'],
  ])('%s: the JSON Schema of its input, no warning', (_name, topic, id) => {
    const { doc, warnings } = documentOf([topic as SchemaTopic]);
    expect(warnings).toEqual([]);
    const payload = payloadOf(doc, id);
    expect(payload).toMatchObject(ORDER_SHAPE);
    expect(payload).not.toHaveProperty('$schema');
  });

  it('zod 4: the same payload as z.toJSONSchema gave (what the CLI wrote before)', () => {
    const schema = z.object({ orderId: z.string().min(1), currency: z.enum(['EUR', 'USD']).default('EUR'), at: z.iso.datetime().transform((s) => new Date(s)), check: z.custom<string>(() => true) });
    const { doc } = documentOf([defineTopic('pay-zod4-same', schema) as SchemaTopic]);
    const { $schema: _dialect, ...before } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Json;
    expect(payloadOf(doc, 'pay-zod4-same')).toEqual(before);
  });

  it.each([
    ['valibot without the wrapper', TOPICS.valibotPlain, 'pay-valibot', /toStandardJsonSchema\(\) of @valibot\/to-json-schema/],
    ['zod 3', TOPICS.zod3, 'pay-zod3', /zod 3/],
  ])('%s: payload {} (any) and a warning naming the topic', (_name, topic, id, hint) => {
    const { doc, warnings } = documentOf([topic as SchemaTopic]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^topic "${id}": `));
    expect(warnings[0]).toMatch(hint);
    const payload = payloadOf(doc, id);
    expect(Object.keys(payload)).toEqual(['description']); // no type, no properties: any value
  });

  it('a document with topics of every validator is valid AsyncAPI 3.0', async () => {
    const { doc, warnings } = documentOf(Object.values(TOPICS) as SchemaTopic[]);
    expect(warnings).toHaveLength(2);
    const diagnostics = (await new Parser().validate(JSON.stringify(doc))).filter((d) => d.severity === DiagnosticSeverity.Error);
    expect(diagnostics.map((d) => d.message)).toEqual([]);
  });
});
