// The SQS transport against ElasticMQ: fan-out batches, the group registry's promise across
// processes (here: transports), and credentials kept out of errors and logs.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, isOmnibusError, silentLogger, type Delivery, type Transport } from '@omnibus/core';
import { describeWithBroker, freePort, recordingLogger, uniqueName } from '@omnibus/test-support';
import { createTransport, type SqsOptionsInput } from '../src/index.js';
import { deleteQueuesWithPrefix, testCredentials } from './helpers.js';

const body = (text: string) => new TextEncoder().encode(text);

/** Collects deliveries and resolves waits on their count (no sleeps). */
function collector() {
  const deliveries: Delivery[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    deliveries,
    onDelivery: (delivery: Delivery) => {
      deliveries.push(delivery);
      void delivery.ack();
      for (const waiter of waiters.filter((w) => deliveries.length >= w.n)) waiter.resolve();
    },
    until: (n: number, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        if (deliveries.length >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`${deliveries.length} of ${n} deliveries after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      }),
  };
}

describeWithBroker('sqs', 'sqs transport on ElasticMQ', (endpoint) => {
  const prefix = `sqs-t-p${randomBytes(3).toString('hex')}-`;
  const open: Transport[] = [];
  const transport = (options: SqsOptionsInput = {}) => {
    const made = createTransport({ url: endpoint.url, options: { prefix, credentials: testCredentials, waitTimeSeconds: 1, ...options }, logger: silentLogger });
    open.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteQueuesWithPrefix(endpoint.url, prefix);
  });

  it('publishes a batch of 25 to every group queue in one call, and each group gets all of it', async () => {
    const t = transport({ groupCacheMs: 100 });
    const topic = uniqueName('sqs-batch');
    const [a, b] = [collector(), collector()];
    await t.subscribe({ topic, group: 'a', concurrency: 32, onDelivery: a.onDelivery, onError: () => {} });
    await t.subscribe({ topic, group: 'b', concurrency: 32, onDelivery: b.onDelivery, onError: () => {} });
    await t.publish(Array.from({ length: 25 }, (_, i) => ({ id: `m${i}`, topic, key: `k${i % 3}`, headers: {}, body: body(`{"n":${i}}`) })));
    await Promise.all([a.until(25), b.until(25)]);
    for (const c of [a, b]) expect(new Set(c.deliveries.map((d) => d.message.id)).size).toBe(25);
  });

  it('a message published after subscribe() resolved reaches the new group, though the publisher listed the topic before', async () => {
    // Another process's publisher, with a listing of the topic made before the group existed.
    const publisher = transport({ groupCacheMs: 1_500 });
    const consumer = transport({ groupCacheMs: 1_500 });
    const topic = uniqueName('sqs-registry');
    await publisher.publish([{ id: 'before', topic, key: undefined, headers: {}, body: body('{}') }]);
    const got = collector();
    const started = Date.now();
    await consumer.subscribe({ topic, group: 'late', concurrency: 4, onDelivery: got.onDelivery, onError: () => {} });
    // subscribe waited for every publisher's listing to expire (groupCacheMs).
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    await publisher.publish([{ id: 'after', topic, key: undefined, headers: {}, body: body('{}') }]);
    await got.until(1);
    expect(got.deliveries.map((d) => d.message.id)).toEqual(['after']);
  });

  it('extends the lease of a delivery held longer than the visibility timeout: no other member gets it meanwhile', async () => {
    const t = transport({ visibilityTimeoutSeconds: 2, groupCacheMs: 100 });
    const topic = uniqueName('sqs-lease');
    const held: Delivery[] = [];
    let resolveHeld: () => void = () => {};
    const gotIt = new Promise<void>((resolve) => (resolveHeld = resolve));
    await t.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: (d) => (held.push(d), resolveHeld()), onError: () => {} });
    await t.publish([{ id: 'long', topic, key: undefined, headers: {}, body: body('{}') }]);
    await gotIt;
    // Another member of the group, polling while the first one holds the message.
    const other = collector();
    await transport({ visibilityTimeoutSeconds: 2 }).subscribe({ topic, group: 'g', concurrency: 1, onDelivery: other.onDelivery, onError: () => {} });
    // More than two visibility timeouts pass while the handler holds it; the marker shows the other member polls.
    const marker = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 4_500)); // the lease's length under test, not a synchronization
      await t.publish([{ id: 'marker', topic, key: undefined, headers: {}, body: body('{}') }]);
    })();
    await marker;
    await other.until(1);
    expect(other.deliveries.map((d) => d.message.id)).toEqual(['marker']);
    await held[0]?.ack();
  }, 30_000);

  it('keeps secrets out of a connection error, its causes and the logs', async () => {
    const secret = 'Zq8-wJalrXUtnFEMI/K7MDENG+bPxRfiCYsecret';
    const token = 'FwoGZXIvYXdzEBaaDHsessiontoken0123456789';
    const port = await freePort();
    const logger = recordingLogger();
    const t = createTransport({ url: `sqs://AKIDEXAMPLE:${encodeURIComponent(secret)}@127.0.0.1:${port}?region=elasticmq`, options: { credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret, sessionToken: token }, publishTimeoutMs: 300, connectTimeoutMs: 200 }, logger });
    open.push(t);
    const connectError = await t.connect().catch((error: unknown) => error);
    expect(connectError).toBeInstanceOf(ConnectionError);
    const publishError = await t.publish([{ id: 'x', topic: 'anything', key: undefined, headers: {}, body: body('{}') }]).catch((error: unknown) => error);
    expect(isOmnibusError(publishError, 'PUBLISH_FAILED')).toBe(true);
    const everything = [connectError, publishError].map((e) => dump(e)).join('\n') + JSON.stringify(t.health?.()) + JSON.stringify(logger.entries.map((entry) => [entry.message, dump(entry.fields)]));
    for (const forbidden of [secret, encodeURIComponent(secret), token]) expect(everything).not.toContain(forbidden);
    expect(String((connectError as Error).message)).toContain('sqs://***@127.0.0.1');
  });
});

describe('sqs transport without a broker', () => {
  it('rejects a publish with a PublishError caused by a ConnectionError when nothing answers', async () => {
    const port = await freePort();
    const t = createTransport({ url: `sqs://127.0.0.1:${port}?region=elasticmq`, options: { credentials: testCredentials, publishTimeoutMs: 500 }, logger: silentLogger });
    // Listing the topic's groups fails first: the publish never resolves without an accept.
    const error = await t.publish([{ id: 'x', topic: 'nowhere', key: undefined, headers: {}, body: body('{}') }]).catch((e: unknown) => e);
    expect(isOmnibusError(error, 'PUBLISH_FAILED')).toBe(true);
    expect(isOmnibusError((error as Error).cause, 'CONNECTION_FAILED')).toBe(true);
    await t.close();
    expect(t.health?.().state).toBe('closed');
  });
});

/** Message, stack and own properties of a value and its causes, as text. */
function dump(value: unknown, depth = 0): string {
  if (depth > 6 || value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  const parts: string[] = value instanceof Error ? [value.name, value.message, value.stack ?? '', dump(value.cause, depth + 1)] : [];
  for (const key of Reflect.ownKeys(value)) {
    const field = (value as Record<PropertyKey, unknown>)[key];
    parts.push(String(key), typeof field === 'object' ? dump(field, depth + 1) : String(field));
  }
  return parts.join('\n');
}
