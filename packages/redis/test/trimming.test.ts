import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

// Trimming is approximate (MINID ~): Redis only drops whole stream nodes (100 entries by
// default), so these tests use a few hundred entries and assert with that granularity.
describeWithBroker('redis', 'redis transport: trimming', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  const publishMany = async (transport: ReturnType<Harness['transport']>, topic: string, count: number) => {
    const ids = Array.from({ length: count }, (_, i) => `${topic}-${i}`);
    for (let i = 0; i < count; i += 100) await transport.publish(ids.slice(i, i + 100).map((id) => message(topic, id)));
    return ids;
  };

  it('keeps every entry a lagging group has not read, then trims once every group acknowledged', async () => {
    const topic = 'trim-lag';
    const transport = harness.transport({ trim: { intervalMs: 3_600_000 } });
    const fast = new Collector();
    await transport.subscribe(fast.params(topic, 'fast', 16));
    await transport.ensureGroup(topic, 'lagging');
    const ids = await publishMany(transport, topic, 300);
    await fast.waitForIds(ids);

    const redis = harness.redis();
    const stream = harness.keys.topic(topic);
    expect(await transport.trimNow()).toBe(0);
    expect(await redis.xlen(stream)).toBe(300);

    const lagging = new Collector();
    await transport.subscribe(lagging.params(topic, 'lagging', 16));
    await lagging.waitForIds(ids);
    // Acks happen just after hand-over: wait until the group has nothing pending.
    await expect.poll(async () => (await redis.xpending(stream, 'lagging'))[0], { timeout: 5_000 }).toBe(0);
    await expect.poll(async () => (await redis.xpending(stream, 'fast'))[0], { timeout: 5_000 }).toBe(0);
    expect(await transport.trimNow()).toBeGreaterThanOrEqual(200);
    expect(await redis.xlen(stream)).toBeLessThanOrEqual(100);
  });

  it('never trims an entry that is still pending (delivered, not acknowledged)', async () => {
    const topic = 'trim-pending';
    const stuckId = `${topic}-150`;
    const transport = harness.transport({ trim: { intervalMs: 3_600_000 }, claimIdleMs: 60_000 });
    const consumer = new Collector((delivery) => (delivery.message.id === stuckId ? undefined : delivery.ack()));
    await transport.subscribe(consumer.params(topic, 'g', 8));
    const ids = await publishMany(transport, topic, 300);
    await consumer.waitForIds(ids);
    const redis = harness.redis();
    const stream = harness.keys.topic(topic);
    await expect.poll(async () => (await redis.xpending(stream, 'g'))[0], { timeout: 5_000 }).toBe(1);
    const [, pendingEntry] = (await redis.xpending(stream, 'g')) as [number, string];

    // Entries before the pending one may go (whole nodes), the pending one and later stay.
    expect(await transport.trimNow()).toBeGreaterThanOrEqual(100);
    expect(await redis.xrange(stream, pendingEntry, pendingEntry)).toHaveLength(1);
    expect(await redis.xlen(stream)).toBeGreaterThanOrEqual(150);

    await consumer.deliveries.find((d) => d.message.id === stuckId)!.ack();
    await transport.trimNow();
    expect(await redis.xlen(stream)).toBeLessThanOrEqual(100);
  });

  it('with maxLen keeps about that many acknowledged entries', async () => {
    const topic = 'trim-maxlen';
    const transport = harness.transport({ trim: { maxLen: 150, intervalMs: 3_600_000 } });
    const consumer = new Collector();
    await transport.subscribe(consumer.params(topic, 'g', 16));
    const ids = await publishMany(transport, topic, 400);
    await consumer.waitForIds(ids);
    const redis = harness.redis();
    await expect.poll(async () => (await redis.xpending(harness.keys.topic(topic), 'g'))[0], { timeout: 5_000 }).toBe(0);
    await transport.trimNow();
    const length = await redis.xlen(harness.keys.topic(topic));
    expect(length).toBeGreaterThanOrEqual(150);
    expect(length).toBeLessThan(150 + 100);
  });

  it('trims nothing when turned off', async () => {
    const topic = 'trim-off';
    const transport = harness.transport({ trim: false });
    const consumer = new Collector();
    await transport.subscribe(consumer.params(topic, 'g', 16));
    const ids = await publishMany(transport, topic, 300);
    await consumer.waitForIds(ids);
    expect(await transport.trimNow()).toBe(0);
    expect(await harness.redis().xlen(harness.keys.topic(topic))).toBe(300);
  });
});
