import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MessageTooLargeError, messageBytes, type OutgoingMessage } from '@omnibus/core';
import { describeWithBroker, recordingLogger, startRedis, type PrivateBroker } from '@omnibus/test-support';
import { MAX_MESSAGE_BYTES } from '../src/size.js';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

/**
 * A message of exactly maxMessageBytes in core's measure whose headers JSON-encode to several
 * times their size (quotes double, control characters grow sixfold).
 */
function fullMessage(topic: string, id: string, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  const headers = { 'x-quotes': '"'.repeat(256 * 1024), 'x-control': '\u0001'.repeat(256 * 1024), 'x-unicode': '☃'.repeat(64 * 1024) };
  const headerBytes = messageBytes({ body: new Uint8Array(0), key: 'k', headers });
  const body = new Uint8Array(MAX_MESSAGE_BYTES - headerBytes).fill(7);
  const full = { ...message(topic, id), key: 'k', headers, body, ...extra };
  expect(messageBytes(full)).toBe(MAX_MESSAGE_BYTES);
  return full;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describeWithBroker('redis', 'redis transport: maxMessageBytes is what Redis takes', (endpoint) => {
  describe('on a Redis with the default proto-max-bulk-len', () => {
    let harness: Harness;
    beforeEach(() => {
      harness = new Harness(endpoint.url);
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    it('stores, delays and redelivers a message of exactly maxMessageBytes whatever its headers encode to', async () => {
      const transport = harness.transport();
      expect(transport.capabilities.maxMessageBytes).toBe(MAX_MESSAGE_BYTES);
      const collector = new Collector((delivery) => (delivery.attempt === 1 ? delivery.nack({ delayMs: 20 }) : delivery.ack()));
      await transport.subscribe(collector.params('full', 'g'));
      const now = fullMessage('full', 'now');
      const later = fullMessage('full', 'later', { delayMs: 20 });
      await transport.publish([now]);
      await transport.publish([later]);
      for (const sent of [now, later]) {
        const again = await collector.waitFor((d) => d.message.id === sent.id && d.attempt === 2, `the redelivery of ${sent.id}`);
        expect(again.message.headers).toEqual(sent.headers);
        expect(again.message.key).toBe('k');
        expect(Buffer.compare(Buffer.from(again.message.body), Buffer.from(sent.body))).toBe(0);
      }
    });

    it('refuses one byte more with a MessageTooLargeError naming the item, storing none of the batch', async () => {
      const transport = harness.transport();
      const over = fullMessage('over', 'over');
      const oneMore = { ...over, body: new Uint8Array(over.body.byteLength + 1) };
      const error = await rejection(transport.publish([message('over', 'small'), oneMore]));
      expect(error).toBeInstanceOf(MessageTooLargeError);
      expect(error).toMatchObject({ index: 1, bytes: MAX_MESSAGE_BYTES + 1, limit: MAX_MESSAGE_BYTES });
      expect(await harness.redis().exists(harness.keys.topic('over'))).toBe(0);
    });
  });

  describe('on a Redis whose proto-max-bulk-len was lowered to 1 MiB', () => {
    let server: PrivateBroker;
    let harness: Harness;
    beforeAll(async () => {
      server = await startRedis({ args: ['--proto-max-bulk-len', '1mb'] });
      harness = new Harness(server.url);
    });
    afterAll(async () => {
      await harness?.cleanup();
      await server?.close();
    });

    it('says so at connect, and refuses an entry the server would refuse before anything of the batch is sent', async () => {
      const logger = recordingLogger();
      const transport = harness.transport({}, logger);
      await transport.connect();
      expect(logger.count(/proto-max-bulk-len/)).toBe(1);
      const big = message('lowered', 'big', { body: new Uint8Array(2 * 1024 * 1024) });
      for (const batch of [[message('lowered', 'small'), big], [message('lowered', 'small'), { ...big, delayMs: 50 }]]) {
        const error = await rejection(transport.publish(batch));
        expect(error).toBeInstanceOf(MessageTooLargeError);
        expect(error).toMatchObject({ index: 1, limit: 1024 * 1024 });
      }
      const redis = harness.redis();
      expect(await redis.exists(harness.keys.topic('lowered'), harness.keys.scheduled)).toBe(0);
    });
  });
});
