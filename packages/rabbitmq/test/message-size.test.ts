import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { privateBrokerUnavailable, recordingLogger, startRabbitMQ, type PrivateBroker } from '@omnibus/test-support';
import { bytes, deliveryLog, makeTransport, text, uniqueTopic } from './helpers.js';

const run = promisify(execFile);
const LIMIT = 1024 * 1024;

describe('rabbitmq maxMessageBytes', () => {
  it('is the maxMessageBytes option (16 MiB by default), within RabbitMQ\'s 512 MiB', () => {
    expect(makeTransport('amqp://127.0.0.1:1', {}).capabilities.maxMessageBytes).toBe(16 * 1024 * 1024);
    expect(makeTransport('amqp://127.0.0.1:1', { maxMessageBytes: LIMIT }).capabilities.maxMessageBytes).toBe(LIMIT);
    expect(() => makeTransport('amqp://127.0.0.1:1', { maxMessageBytes: 1024 ** 3 })).toThrow(expect.objectContaining({ field: 'options.maxMessageBytes' }));
  });

  it('refuses a body over it before sending anything of the batch, naming the item', async () => {
    const transport = makeTransport('amqp://127.0.0.1:1', { maxMessageBytes: 64 * 1024 });
    const small = { id: 's', topic: 'size', key: undefined, headers: {}, body: bytes('s') };
    await expect(transport.publish([small, { ...small, body: new Uint8Array(64 * 1024 + 1) }])).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', index: 1 });
    await transport.close();
  });
});

/**
 * A private RabbitMQ node whose max_message_size is lowered to 1 MiB (the shared broker keeps its
 * 128 MiB default): the transport still declares 16 MiB, so the broker is what refuses.
 */
const unavailable = privateBrokerUnavailable('rabbitmq');
describe.skipIf(unavailable !== undefined)('rabbitmq: a message over the broker\'s max_message_size', () => {
  let broker: PrivateBroker;
  const transports: Transport[] = [];

  beforeAll(async () => {
    broker = await startRabbitMQ();
    // Channels read max_message_size when they open: set before the transport connects.
    // The CLI next to the server the private node runs (not /usr/sbin's wrapper, which switches
    // to the rabbitmq user and its cookie); HOME is the node's own, where its cookie is.
    const ctl = join(dirname(realpathSync('/usr/lib/rabbitmq/bin/rabbitmq-server')), 'rabbitmqctl');
    await run(ctl, ['-q', '-n', `omnibus-private-${broker.port}@localhost`, 'eval', `application:set_env(rabbit, max_message_size, ${LIMIT}).`], {
      env: { ...process.env, HOME: join(broker.dataDir, 'home') },
      timeout: 60_000,
    });
  }, 180_000);
  afterAll(async () => {
    await Promise.allSettled(transports.map((t) => t.close()));
    await broker?.close();
  });

  it('is refused at once with the broker\'s reason, not after publishTimeoutMs; the rest of its batch is delivered', async () => {
    const logger = recordingLogger();
    const transport = makeTransport(broker.url, { publishTimeoutMs: 20_000 }, logger);
    transports.push(transport);
    const topic = uniqueTopic('too-big');
    const log = deliveryLog();
    await transport.subscribe({ topic, group: 'g', concurrency: 4, onDelivery: log.onDelivery, onError: log.onError });
    const message = (id: string, body: Uint8Array) => ({ id, topic, key: undefined, headers: {}, body });

    const started = Date.now();
    const refused = (await transport.publish([message('small-1', bytes('one')), message('big', new Uint8Array(LIMIT + 1)), message('small-2', bytes('two'))]).catch((e: unknown) => e)) as Error & { cause?: Error };
    const elapsed = Date.now() - started;
    expect(refused).toMatchObject({ name: 'PublishError', code: 'PUBLISH_FAILED', message: expect.stringContaining('1 of 3 messages were not accepted') });
    expect(refused.message).toContain(`message size ${LIMIT + 1} is larger than configured max size ${LIMIT}`);
    expect(refused.message).toContain(`max_message_size is ${LIMIT} bytes`);
    expect((refused.cause as Error & { cause?: { code?: number } }).cause).toMatchObject({ code: 406 });
    expect(elapsed).toBeLessThan(5_000);

    // The refusal closed the channel: a small one whose confirm it overtook is re-sent (at-least-once).
    const bodies = () => new Set(log.deliveries.map((d) => text(d.message.body)));
    await log.waitFor(() => bodies().has('one') && bodies().has('two'), 'the two small messages of the batch');
    expect([...bodies()].sort()).toEqual(['one', 'two']);

    // The limit is known now: another big body is refused without being sent (no second channel close).
    const closes = logger.count(/publish channel closed by the broker/);
    expect(closes).toBe(1);
    await expect(transport.publish([message('big-2', new Uint8Array(LIMIT + 10))])).rejects.toMatchObject({ code: 'PUBLISH_FAILED', message: expect.stringContaining(`max_message_size of ${LIMIT} bytes`) });
    await transport.publish([message('small-3', bytes('three'))]);
    await log.waitFor(() => bodies().has('three'), 'the message after the refusals');
    expect(bodies().has('big') || log.deliveries.some((d) => d.message.id.startsWith('big'))).toBe(false);
    expect(logger.count(/publish channel closed by the broker/)).toBe(closes);
  });
});
