import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isOmnibusError, type Transport } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { isCI, NATS_SERVER_BINARY, privateBrokerUnavailable, startNats, type PrivateBroker } from '@omnibus/test-support';
import { bytes, collector, natsTransport } from './helpers.js';

// Needs the nats-server binary (not the shared server: this one is stopped and started).
// Without it: skipped locally, failed in CI.
const suite = !privateBrokerUnavailable('nats') || isCI() ? describe : describe.skip;

suite(`nats transport: server restart (private ${NATS_SERVER_BINARY})`, () => {
  let server: PrivateBroker;
  const opened: Transport[] = [];
  const open = async (options: NatsOptionsInput = {}): Promise<Transport> => {
    const transport = natsTransport(server.url, { reconnectTimeWaitMs: 100, pullExpiresMs: 3_000, requestTimeoutMs: 2_000, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };

  beforeAll(async () => {
    server = await startNats();
  });
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('loses nothing acknowledged when the server restarts mid-stream, and consumption resumes by itself', async () => {
    const consumer = await open({ ackWaitMs: 3_000 });
    const publisher = await open({ publishTimeoutMs: 1_000, publishRetries: 20 });
    const topic = 'orders.restart';
    const seen = collector();
    // ~10 ms of work per message, so the restart lands in the middle of the stream.
    seen.handle = (d) => void new Promise((resolve) => setTimeout(resolve, 10)).then(() => d.ack());
    await consumer.subscribe({ topic, group: 'billing', concurrency: 2, onDelivery: seen.onDelivery, onError: seen.onError });

    const acknowledged = new Set<string>();
    const publishRange = async (from: number, to: number) => {
      for (let i = from; i < to; i += 10) {
        const batch = Array.from({ length: Math.min(10, to - i) }, (_, k) => ({ id: `m-${i + k}`, topic, key: `k${(i + k) % 3}`, headers: {}, body: bytes(`body ${i + k}`) }));
        try {
          await publisher.publish(batch);
          for (const m of batch) acknowledged.add(m.id);
        } catch (error) {
          // Not acknowledged, so not owed: only a PublishError is acceptable here.
          expect(isOmnibusError(error, 'PUBLISH_FAILED')).toBe(true);
        }
      }
    };
    await publishRange(0, 150);
    await publisher.publish([{ id: 'delayed', topic, key: undefined, headers: {}, body: bytes('delayed'), delayMs: 2_500 }]);
    const delayedAt = Date.now();
    await seen.until(() => seen.deliveries.length >= 20, 20_000, '20 deliveries before the restart');
    const beforeRestart = seen.deliveries.length;
    expect(beforeRestart).toBeLessThan(150);

    // SIGTERM: a clean shutdown, the server flushes its store.
    await server.stop('SIGTERM');
    const duringDowntime = publishRange(150, 200);
    await server.start();
    await duringDowntime;
    await publishRange(200, 300);

    const received = () => new Set(seen.deliveries.map((d) => d.message.id));
    await seen.until(() => [...acknowledged].every((id) => received().has(id)), 60_000, `all ${acknowledged.size} acknowledged messages`);
    expect([...acknowledged].filter((id) => !received().has(id))).toEqual([]);
    expect(acknowledged.size).toBeGreaterThanOrEqual(250);
    expect(seen.errors.some((e) => isOmnibusError(e, 'CONNECTION_FAILED'))).toBe(true);

    // The delayed message waited in the file-stored delay stream across the restart.
    await seen.until(() => received().has('delayed'), 30_000, 'the delayed message');
    const delayed = seen.deliveries.find((d) => d.message.id === 'delayed');
    expect(new TextDecoder().decode(delayed?.message.body)).toBe('delayed');
    expect(Date.now() - delayedAt).toBeGreaterThanOrEqual(2_500 - 50);
  });
});
