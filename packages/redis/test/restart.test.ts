import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { PublishError, type Delivery } from '@omnibus/core';
import { describeWithBroker, startRedis, type PrivateBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

/** The server's run_id: changes on every start of the server process. */
async function runId(server: PrivateBroker): Promise<string> {
  const probe = new Redis(server.url, { maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  try {
    return /run_id:(\w+)/.exec(await probe.info('server'))?.[1] ?? '';
  } finally {
    probe.disconnect();
  }
}

/** Kill (SIGKILL: a crash, not a shutdown), stay down `downtimeMs`, start again on the same port and data. */
async function crashAndRestart(server: PrivateBroker, downtimeMs = 0): Promise<void> {
  await server.restart({ signal: 'SIGKILL', whileDown: () => new Promise((resolve) => setTimeout(resolve, downtimeMs)) });
}

// Runs against a redis-server of its own (own port, own data dir): the shared one is never restarted.
describeWithBroker('redis', 'redis transport: Redis restart', () => {
  let server: PrivateBroker;
  let harness: Harness;
  beforeAll(async () => {
    server = await startRedis();
    harness = new Harness(server.url);
  });
  afterAll(async () => {
    await harness?.cleanup();
    await server?.close();
  });

  it('loses nothing acknowledged as published when Redis crashes and restarts mid-stream', async () => {
    const topic = 'restart';
    const reconnect = { initialDelayMs: 20, maxDelayMs: 200 };
    const consumer = harness.transport({ reconnect, claimIdleMs: 1_000 });
    const received = new Collector();
    await consumer.subscribe(received.params(topic, 'billing', 8));
    const producer = harness.transport({ reconnect, commandTimeoutMs: 10_000 });

    const runBefore = await runId(server);
    const acknowledged: string[] = [];
    const refused: string[] = [];
    let crashed = false;
    let restarted!: Promise<void>;
    for (let i = 0; !crashed || acknowledged.length < 200; i += 1) {
      // Batches of 5, so a crash can hit a pipeline half-way.
      const batch = Array.from({ length: 5 }, (_, j) => message(topic, `m-${i}-${j}`));
      const sending = producer.publish(batch).then(
        () => acknowledged.push(...batch.map((m) => m.id)),
        () => refused.push(...batch.map((m) => m.id)),
      );
      if (i === 20) {
        crashed = true;
        restarted = crashAndRestart(server, 500);
      }
      await sending;
    }
    await restarted;
    expect(await runId(server)).not.toBe(runBefore);

    await received.waitForIds(acknowledged, 30_000);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
    // With a short outage and a 10 s command timeout, publishes wait for the reconnect instead of failing.
    expect(refused).toEqual([]);
    // The consumer reported the outage and recovered by itself (it was not resubscribed).
    expect(received.errors.some((e) => e.message.includes('lost'))).toBe(true);
  });

  it('keeps pending deliveries and scheduled retries across the crash', async () => {
    const topic = 'restart-pending';
    const transport = harness.transport({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    let held!: (delivery: Delivery) => void;
    const first = new Promise<Delivery>((resolve) => (held = resolve));
    const received = new Collector((delivery) => {
      if (delivery.attempt === 1) held(delivery);
      else return delivery.ack();
    });
    await transport.subscribe(received.params(topic, 'billing', 2));
    await transport.publish([message(topic, 'p-1')]);
    const delivery = await first;
    await delivery.nack({ delayMs: 800, headers: { 'x-note': 'kept' } });

    await crashAndRestart(server, 200);

    const retried = await received.waitFor((d) => d.message.id === 'p-1' && d.attempt === 2, 'the scheduled retry after the restart');
    expect(retried.message.headers['x-note']).toBe('kept');
  });

  it('fails a publish with a PublishError when Redis stays away longer than commandTimeoutMs', async () => {
    const topic = 'restart-down';
    const transport = harness.transport({ commandTimeoutMs: 300, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    await transport.connect();
    await server.stop('SIGKILL');
    try {
      const error = await transport.publish([message(topic, 'never')]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PublishError);
      expect((error as PublishError).message).toContain('timed out');
    } finally {
      await crashAndRestart(server);
    }
    // Reconnects by itself once Redis is back.
    await transport.publish([message(topic, 'later')]);
  });

  it('stops promptly while the consumer connection waits to reconnect', async () => {
    const topic = 'restart-stop';
    const transport = harness.transport({ blockMs: 5_000, reconnect: { initialDelayMs: 1_000, maxDelayMs: 1_000 } });
    const received = new Collector();
    const subscription = await transport.subscribe(received.params(topic, 'billing'));
    await server.stop('SIGKILL');
    try {
      await received.waitForError((e) => e.message.includes('lost'), 'the outage report');
      const started = Date.now();
      await subscription.stop();
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      await crashAndRestart(server);
    }
  });
});
