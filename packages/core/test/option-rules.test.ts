// Core checks its own options without zod (options/rules.ts), and a ConfigError must read as it did
// when core used zod 4: the same field and the same message. Each case runs the old zod schema and
// core's rule on the same input and compares the two errors.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BackoffSchema, ConfigError, createBus, createMemoryTransport, defineTopic, isTransportFactory, jsonCodec, MAX_CONCURRENCY, MAX_DELAY_MS, memory, parseOptions, parseTopicBound, RetryPolicySchema, silentLogger, TransportPackages, type StandardSchemaV1 } from '../src/index.js';
import { busConfigSchema } from '../src/options/bus-config.js';

// The schemas as core wrote them with zod (0.2.0).
const ZodBackoff = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('fixed'), delayMs: z.number().int().min(0).max(MAX_DELAY_MS).default(1_000), jitter: z.boolean().default(false) }),
  z.strictObject({
    type: z.literal('exponential'),
    initialDelayMs: z.number().int().min(0).max(MAX_DELAY_MS).default(100),
    maxDelayMs: z.number().int().min(0).max(MAX_DELAY_MS).default(30_000),
    factor: z.number().min(1).default(2),
    jitter: z.boolean().default(true),
  }),
]);
const ZodRetry = z.strictObject({
  maxAttempts: z.number().int().min(1).max(1_000).default(3),
  backoff: ZodBackoff.default({ type: 'exponential', initialDelayMs: 100, maxDelayMs: 30_000, factor: 2, jitter: true }),
  retryable: z.custom((value) => typeof value === 'function').optional(),
  nonRetryable: z.array(z.custom((value) => typeof value === 'function')).default([]),
});
const ZodBound = z
  .strictObject({
    maxMessages: z.number().int().min(1).max(2 ** 31 - 1).optional(),
    maxBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    overflow: z.enum(['reject', 'drop-oldest']),
  })
  .refine((b) => b.maxMessages !== undefined || b.maxBytes !== undefined, { message: 'give maxMessages, maxBytes or both' });
const ZodSubscribe = z.strictObject({
  group: z.string(),
  concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).default(1),
  retry: ZodRetry.prefault({}),
  deadLetter: z.strictObject({ topic: z.string().optional() }).prefault({}),
  drainTimeoutMs: z.number().int().min(0).optional(),
  rateLimit: z.strictObject({ messages: z.number().int().min(1).max(1_000_000), perMs: z.number().int().min(1).max(86_400_000) }).optional(),
  idempotency: z
    .strictObject({
      store: z.custom((v) => typeof v === 'object' && v !== null && typeof (v as { claim?: unknown }).claim === 'function', { message: 'must be an IdempotencyStore (claim, extend, commit, release)' }),
      key: z.custom((v) => typeof v === 'function', { message: 'must be a function (message) => string' }).optional(),
      ttlMs: z.number().int().min(1).default(86_400_000),
      leaseMs: z.number().int().min(300).max(86_400_000).default(30_000),
      busyWaitMs: z.number().int().min(0).max(3_600_000).default(5_000),
      onDuplicate: z.custom((v) => typeof v === 'function', { message: 'must be a function (message, key) => void' }).optional(),
    })
    .optional(),
});
const ZodBatch = ZodSubscribe.omit({ concurrency: true, idempotency: true }).extend({
  maxBatch: z.number().int().min(1).max(10_000).default(100),
  maxWaitMs: z.number().int().min(0).max(3_600_000).default(100),
  concurrency: z.number().int().min(1).max(1_000).default(1),
});
const ZodFaults = z.strictObject({ seed: z.number().int().default(1), duplicates: z.number().min(0).max(1).default(0), redeliveries: z.number().min(0).max(1).default(0), reorder: z.boolean().default(false) });

/** The ConfigError (field and message) a parse throws, or 'ok' with the value. */
function outcome(parse: () => unknown): { field: string; message: string } | { ok: unknown } {
  try {
    return { ok: parse() };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { field: error.field as string, message: error.message };
  }
}

const store = { claim: () => {}, extend: () => {}, commit: () => {}, release: () => {} };

const SUBSCRIBE_CASES: unknown[] = [
  { group: 'g', concurency: 4 },
  { group: 'g', concurrency: 0 },
  { group: 'g', concurrency: 1.5 },
  { group: 'g', concurrency: '4' },
  { group: 'g', concurrency: Number.NaN },
  { group: 'g', concurrency: Number.POSITIVE_INFINITY },
  { group: 'g', concurrency: MAX_CONCURRENCY + 1 },
  { group: 'g', concurrency: null, zz: 1, yy: 2 },
  { group: 7 },
  {},
  'g',
  null,
  [],
  { group: 'g', retry: { maxAttempt: 5 } },
  { group: 'g', retry: { maxAttempts: 0, backoff: { type: 'linear' } } },
  { group: 'g', retry: { backoff: {} } },
  { group: 'g', retry: { backoff: 'fixed' } },
  { group: 'g', retry: { backoff: { type: 'fixed', delay: 5 } } },
  { group: 'g', retry: { backoff: { type: 'fixed', delayMs: -1, jitter: 'yes' } } },
  { group: 'g', retry: { backoff: { type: 'exponential', factor: 0.5, maxDelayMs: MAX_DELAY_MS + 1 } } },
  { group: 'g', retry: { retryable: true, nonRetryable: [RangeError, 'x', 3] } },
  { group: 'g', retry: { nonRetryable: {} } },
  { group: 'g', deadLetter: { topic: 5, x: 1 } },
  { group: 'g', deadLetter: 'dlq' },
  { group: 'g', drainTimeoutMs: -5 },
  { group: 'g', rateLimit: { messages: 0, perMs: 10 } },
  { group: 'g', rateLimit: { messages: 1, perMs: 10, burst: 3 } },
  { group: 'g', rateLimit: { messages: 1 } },
  { group: 'g', idempotency: { store: {} } },
  { group: 'g', idempotency: { store, key: 'id', leaseMs: 10, onDuplicate: 1, ttl: 5 } },
  { group: 'g', idempotency: { store, ttlMs: 2 ** 60 } },
  { group: 'g', concurrency: new Date(), drainTimeoutMs: () => 1 },
];

describe('core option rules read as the zod schemas did', () => {
  it.each(SUBSCRIBE_CASES.map((input) => [JSON.stringify(input) ?? String(input), input]))('subscribe options %s', async (_name, input) => {
    const bus = await createBus('memory://');
    const topic = defineTopic('option-rules', z.object({}));
    const ours = await bus.subscribe(topic, () => {}, input as never).then(
      async (subscription) => {
        await subscription.close();
        return { ok: 'subscribed' } as const;
      },
      (error: unknown) => {
        if (!(error instanceof ConfigError)) throw error;
        return { field: error.field as string, message: error.message };
      },
    );
    await bus.close();
    const theirs = outcome(() => parseOptions(ZodSubscribe as StandardSchemaV1, input, 'subscribe options'));
    expect(ours).toEqual('ok' in theirs ? { ok: 'subscribed' } : theirs);
  });

  const BATCH_CASES: unknown[] = [{ group: 'g', maxBatch: 0 }, { group: 'g', concurrency: 2_000, maxWaitMs: 'x' }, { group: 'g', idempotency: { store } }, { group: 'g', maxBatchh: 3 }];
  it.each(BATCH_CASES.map((input) => [JSON.stringify(input), input]))('subscribeBatch options %s', async (_name, input) => {
    const bus = await createBus('memory://');
    const error = await bus.subscribeBatch(defineTopic('option-rules-batch', z.object({})), () => {}, input as never).then(
      () => undefined,
      (e: unknown) => e as ConfigError,
    );
    await bus.close();
    const theirs = outcome(() => parseOptions(ZodBatch as StandardSchemaV1, input, 'subscribeBatch options'));
    expect(error).toBeInstanceOf(ConfigError);
    expect({ field: error?.field, message: error?.message }).toEqual(theirs);
  });

  it.each([
    [{ type: 'exponential', initialDelayMs: 100, maxDelayMs: 1_000, jitter: false }],
    [{ type: 'fixed' }],
    [{ type: 'fixed', delayMs: 2 ** 60 }],
    [{ type: 'nope' }],
    [undefined],
  ])('backoff %j', (input) => {
    expect(outcome(() => parseOptions(BackoffSchema, input, 'backoff'))).toEqual(outcome(() => parseOptions(ZodBackoff as StandardSchemaV1, input, 'backoff')));
  });

  it.each([[{}], [{ maxAttempts: 2, nonRetryable: [RangeError] }], [{ backoff: undefined }]])('retry policy %j (defaults included)', (input) => {
    expect(outcome(() => parseOptions(RetryPolicySchema, input, 'retry'))).toEqual(outcome(() => parseOptions(ZodRetry as StandardSchemaV1, input, 'retry')));
  });

  it.each([[{ overflow: 'reject' }], [{ maxMessages: 0, overflow: 'drop' }], [{ maxBytes: 10, overflow: 'drop-oldest' }], [{ overflow: 'reject', max: 3 }], [{ maxMessages: 'x', overflow: 'reject' }], [5]])('bound %j', (input) => {
    expect(outcome(() => parseTopicBound(input, 'bound'))).toEqual(outcome(() => parseOptions(ZodBound as StandardSchemaV1, input, 'bound')));
  });

  it.each([[{ dupes: 0.1 }], [{ duplicates: 2, redeliveries: -1, seed: 1.5, reorder: 'yes' }], [{ seed: 3 }]])('memory faults %j', (input) => {
    const ours = outcome(() => createMemoryTransport({ url: 'memory://', options: { faults: input as never }, logger: silentLogger }));
    const theirs = outcome(() => parseOptions(ZodFaults as StandardSchemaV1, input, 'options.faults'));
    expect('ok' in ours ? 'ok' : ours).toEqual('ok' in theirs ? 'ok' : theirs);
  });

  it.each(['memory://?seed=x', 'memory://?seed=1.5&duplicates=abc', 'memory://?reorder=yes', 'memory://?dupes=1'])('memory URL %s', (url) => {
    const ZodQuery = z.strictObject({
      seed: z.coerce.number().int().optional(),
      duplicates: z.coerce.number().optional(),
      redeliveries: z.coerce.number().optional(),
      reorder: z.enum(['true', 'false']).optional(),
    });
    const query = Object.fromEntries(new URL(url.replace(/^memory:\/\//, 'http://memory/')).searchParams);
    expect(outcome(() => createMemoryTransport({ url, options: {}, logger: silentLogger }))).toEqual(outcome(() => parseOptions(ZodQuery as StandardSchemaV1, query, 'url')));
  });
});

// create-bus.ts still parses its config with zod; busConfigSchema is its replacement, to be swapped in.
describe('the createBus config rule reads as the zod schema does', () => {
  const names = Object.keys(TransportPackages) as [keyof typeof TransportPackages, ...(keyof typeof TransportPackages)[]];
  const isTransport = (v: unknown) => typeof v === 'object' && v !== null && typeof (v as { publish?: unknown }).publish === 'function' && typeof (v as { subscribe?: unknown }).subscribe === 'function';
  const ZodConfig = z
    .object({
      url: z.string().min(1).optional(),
      transport: z.union([z.enum(names), z.custom(isTransportFactory), z.custom(isTransport, 'expected a transport name, a transport factory or a Transport instance')]).optional(),
      options: z.record(z.string(), z.unknown()).optional(),
      source: z.string().min(1).default('omnibus://host'),
      codec: z.custom((v) => typeof v === 'object' && v !== null && typeof (v as { encode?: unknown }).encode === 'function' && typeof (v as { decode?: unknown }).decode === 'function', 'expected a Codec').default(jsonCodec),
      logger: z.custom((v) => typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'function', 'expected a logger with debug/info/warn/error').default(silentLogger),
      middleware: z.array(z.custom((v) => typeof v === 'object' && v !== null, 'expected { publish?, consume? }')).default([]),
      drainTimeoutMs: z.number().int().min(0).default(10_000),
    })
    .strict();
  const ours = busConfigSchema(names);
  const transport = createMemoryTransport({ url: 'memory://', options: {}, logger: silentLogger });

  it.each([
    [{ url: '' }],
    [{ url: 5 }],
    [{ url: 'memory://', transport: 'mqtt' }],
    [{ transport: 'memory' }],
    [{ transport: memory() }],
    [{ transport }],
    [{ transport: {} }],
    [{ url: 'memory://', options: 'x' }],
    [{ url: 'memory://', options: new Map() }],
    [{ url: 'memory://', options: [] }],
    [{ url: 'memory://', source: '' }],
    [{ url: 'memory://', codec: {}, logger: console.log, middleware: [1, {}] }],
    [{ url: 'memory://', drainTimeoutMs: -1, urll: 'x' }],
    ['memory://'],
  ])('%j', (input) => {
    const theirs = outcome(() => parseOptions(ZodConfig as StandardSchemaV1, input, 'config'));
    const mine = outcome(() => parseOptions(ours, input, 'config'));
    if ('ok' in theirs && 'ok' in mine) {
      const { source: _a, ...a } = theirs.ok as Record<string, unknown>;
      const { source: _b, ...b } = mine.ok as Record<string, unknown>;
      expect(b).toEqual(a);
      expect((mine.ok as { codec: unknown }).codec).toBe(jsonCodec); // the default itself (zod handed a copy)
    } else expect(mine).toEqual(theirs);
  });
});
