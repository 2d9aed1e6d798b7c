// defineTopic takes any Standard Schema v1 validator. For zod 4, zod 3 (its v3 default export),
// valibot and arktype, and for async schemas of zod 4 and valibot, on memory:// and on Redis:
// a valid body reaches the handler as the schema's output (transform and default applied once, on
// receipt); an invalid body is refused by publish with a ValidationError before anything is sent,
// its issues at their paths with messages that read well; a message that fails the schema on
// receipt is dead-lettered at once with the reason `invalid` and the issues.
import { afterAll, describe, expect, it } from 'vitest';
import { type } from 'arktype';
import * as v from 'valibot';
import { z } from 'zod';
import { z as z3 } from 'zod3';
import {
  capturePublished,
  createBus,
  DEAD_LETTER_GROUP,
  deadLetterTopicOf,
  defineTopic,
  handlerSpy,
  rawTopic,
  readDeadLetter,
  ValidationError,
  type Bus,
  type Middleware,
  type StandardSchemaV1,
} from '@omnibus/core';
import { deleteRedisPrefix, describeWithBroker, uniqueName } from '@omnibus/test-support';

/** Every schema takes `{ orderId, placedAt, currency? }` and gives `placedAt` as a Date, `currency` defaulting to EUR. */
interface Order {
  orderId: string;
  placedAt: Date;
  currency: string;
}
type OrderInput = { orderId: string; placedAt: string; currency?: string | undefined };

const VALIDATORS: ReadonlyArray<{ readonly name: string; readonly schema: StandardSchemaV1<OrderInput, Order> }> = [
  { name: 'zod 4', schema: z.object({ orderId: z.string().min(1), placedAt: z.string().transform((s) => new Date(s)), currency: z.string().default('EUR') }) },
  { name: 'zod 3', schema: z3.object({ orderId: z3.string().min(1), placedAt: z3.string().transform((s) => new Date(s)), currency: z3.string().default('EUR') }) },
  {
    name: 'valibot',
    schema: v.object({ orderId: v.pipe(v.string(), v.minLength(1)), placedAt: v.pipe(v.string(), v.transform((s) => new Date(s))), currency: v.optional(v.string(), 'EUR') }),
  },
  { name: 'arktype', schema: type({ orderId: 'string > 0', placedAt: type('string').pipe((s) => new Date(s)), currency: 'string = "EUR"' }) },
  {
    name: 'zod 4, async',
    schema: z.object({ orderId: z.string().refine(async (id) => id.length > 0, 'empty'), placedAt: z.string().transform((s) => new Date(s)), currency: z.string().default('EUR') }),
  },
  {
    name: 'valibot, async',
    schema: v.objectAsync({
      orderId: v.pipeAsync(v.string(), v.checkAsync(async (id) => id.length > 0, 'empty')),
      placedAt: v.pipe(v.string(), v.transform((s) => new Date(s))),
      currency: v.optional(v.string(), 'EUR'),
    }),
  },
];

const PLACED_AT = '2026-01-02T03:04:05.000Z';

function scenarios(transport: string, open: (middleware: Middleware[]) => Promise<Bus>): void {
  describe(`Standard Schema validators on ${transport}`, () => {
    it.each(VALIDATORS)('$name: output to the handler, invalid refused before sending, invalid on receipt dead-lettered', async ({ name, schema }) => {
      const capture = capturePublished();
      const bus = await open([capture.middleware]);
      const publisher = bus;
      const topic = defineTopic(uniqueName(`ss-${name.replace(/\W+/g, '-')}`).slice(0, 60), schema);
      const orders = handlerSpy<Order>();
      const dead = handlerSpy<Uint8Array>();
      const subs = [await bus.subscribe(topic, orders.handler, { group: 'g' }), await bus.subscribe(deadLetterTopicOf(topic), dead.handler, { group: DEAD_LETTER_GROUP })];
      try {
        // A valid body: the handler gets the output (Date, default), the wire carried the input.
        const id = await publisher.publish(topic, { orderId: 'o-1', placedAt: PLACED_AT });
        const call = await orders.waitForMessageWithId(id);
        expect(call.message.body.placedAt).toBeInstanceOf(Date);
        expect(call.message.body.placedAt.toISOString()).toBe(PLACED_AT);
        expect(call.message.body.currency).toBe('EUR');

        // An invalid body: a ValidationError, nothing sent.
        const before = capture.published.length;
        const refused = await publisher.publish(topic, { orderId: 5, placedAt: PLACED_AT } as never).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(ValidationError);
        const error = refused as ValidationError;
        expect(error.code).toBe('VALIDATION_FAILED');
        expect(error.topic).toBe(topic.name);
        expect(error.issues.map((issue) => issue.path)).toEqual([['orderId']]);
        // Read as "orderId: <what is wrong>", never "orderId: orderId must be ..." (arktype names the path itself).
        expect(error.issues[0]?.message).not.toMatch(/^orderId\b/);
        expect(error.message).toMatch(new RegExp(`^body does not match the schema of topic "${topic.name}": orderId: \\S`));
        expect(capture.published.length).toBe(before);

        // A batch: the index leads the path, and nothing of the batch is sent.
        const batch = await publisher.publishBatch(topic, [{ body: { orderId: 'o-2', placedAt: PLACED_AT } }, { body: { orderId: '', placedAt: PLACED_AT } }]).catch((e: unknown) => e);
        expect(batch).toBeInstanceOf(ValidationError);
        expect((batch as ValidationError).issues[0]?.path).toEqual([1, 'orderId']);
        expect(capture.published.length).toBe(before);

        // A message that fails the schema on receipt (published past it, as raw bytes): dead-lettered, reason invalid.
        const bad = await publisher.publish(rawTopic(topic.name), new TextEncoder().encode(JSON.stringify({ orderId: 7, placedAt: PLACED_AT })));
        const letter = await dead.waitForMessageWithId(bad);
        const info = readDeadLetter(letter.message);
        expect(info?.reason).toBe('invalid');
        expect(info?.error.name).toBe('ValidationError');
        expect(info?.error.message).toMatch(/orderId: \S/);
        expect(orders.calls.map((c) => c.message.id)).not.toContain(bad);
      } finally {
        for (const sub of subs) await sub.close();
        await bus.close();
      }
    });
  });
}

scenarios('memory://', (middleware) => createBus({ url: 'memory://', middleware }));

describeWithBroker('redis', 'redis', (endpoint) => {
  const prefix = `${uniqueName('omnibus-ss')}:`;
  afterAll(() => deleteRedisPrefix(endpoint.url, prefix));
  scenarios('redis', (middleware) => createBus({ url: endpoint.url, options: { prefix, blockMs: 100, schedulerIntervalMs: 50 }, middleware }));
});
