import { afterEach, beforeEach, expect, it } from 'vitest';
import { ConfigError, isOmnibusError, QueueFullError, type Delivery, type TopicBound } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

const reject = (maxMessages: number): TopicBound => ({ maxMessages, overflow: 'reject' });

interface Tally {
  accepted: number;
  refused: number;
  other: unknown[];
}

describeWithBroker('redis', 'redis transport: bounded topics', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  /** `publishers` transports publish `each` messages one call each, all at once. */
  async function race(topic: string, bound: number, publishers: number, each: number): Promise<Tally> {
    const transports = harness.transport();
    await transports.declareTopic(topic, { bound: reject(bound) });
    await transports.ensureGroup(topic, 'g');
    const others = await Promise.all(
      Array.from({ length: publishers }, async () => {
        const transport = harness.transport();
        await transport.declareTopic(topic, { bound: reject(bound) });
        await transport.connect();
        return transport;
      }),
    );
    const tally: Tally = { accepted: 0, refused: 0, other: [] };
    await Promise.all(
      others.flatMap((transport, p) =>
        Array.from({ length: each }, (_, i) =>
          transport.publish([message(topic, `${p}-${i}`)]).then(
            () => void (tally.accepted += 1),
            (error: unknown) => (isOmnibusError(error, 'QUEUE_FULL') ? void (tally.refused += 1) : void tally.other.push(error)),
          ),
        ),
      ),
    );
    return tally;
  }

  it('holds a reject bound exactly with 4 racing publishers: overshoot 0 (bound 1,000, 8,000 publishes)', async () => {
    const topic = 'bound-race';
    const started = Date.now();
    const tally = await race(topic, 1_000, 4, 2_000);
    const overshoot = tally.accepted - 1_000;
    console.info(`redis bounded topic: bound 1000, 4 publishers x 2000: accepted ${tally.accepted}, refused ${tally.refused}, overshoot ${overshoot} (${Date.now() - started} ms)`);
    expect(tally.other).toEqual([]);
    expect(tally.accepted).toBeLessThanOrEqual(1_000);
    expect(tally.accepted).toBe(1_000);
    expect(tally.refused).toBe(7_000);
    expect(await harness.redis().xlen(harness.keys.topic(topic))).toBe(1_000);
  });

  it('counts a group’s redeliveries waiting, not its deliveries in flight; a delayed publish is checked when published', async () => {
    const topic = 'bound-count';
    const transport = harness.transport();
    await transport.declareTopic(topic, { bound: reject(2) });
    const held: Delivery[] = [];
    const consumer = new Collector((delivery) => void held.push(delivery));
    await transport.subscribe(consumer.params(topic, 'g', 2));
    await transport.publish([message(topic, 'a'), message(topic, 'b')]);
    await consumer.waitForIds(['a', 'b']);
    // Both handed over (pending): the group has room for two more.
    await transport.publish([message(topic, 'c'), message(topic, 'd')]);
    const full = await transport.publish([message(topic, 'e')]).catch((error: unknown) => error);
    expect(full).toBeInstanceOf(QueueFullError);
    expect((full as QueueFullError).message).toContain('group "g" has 2');
    // A delayed publish is refused at once too, and nothing is scheduled.
    await expect(transport.publish([message(topic, 'late', { delayMs: 60_000 })])).rejects.toBeInstanceOf(QueueFullError);
    expect(await harness.redis().zcard(harness.keys.scheduled)).toBe(0);

  });

  it('counts the redeliveries waiting in a group’s redelivery stream', async () => {
    const topic = 'bound-redeliveries';
    const transport = harness.transport();
    await transport.declareTopic(topic, { bound: reject(3) });
    await transport.ensureGroup(topic, 'g');
    await transport.publish([message(topic, 'a')]);
    // Two redeliveries waiting (as nacks write them; no consumer runs to take them).
    const redis = harness.redis();
    for (const id of ['r1', 'r2']) await redis.xadd(harness.keys.retry(topic, 'g'), '*', 'id', id, 'headers', '{}', 'body', '');
    const error = await transport.publish([message(topic, 'b')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toContain('group "g" has 3');
  });

  it('refuses part of a batch with a QueueFullError and stores the rest', async () => {
    const topic = 'bound-batch';
    const transport = harness.transport();
    await transport.declareTopic(topic, { bound: reject(3) });
    await transport.ensureGroup(topic, 'g');
    const error = await transport.publish(['a', 'b', 'c', 'd', 'e'].map((id) => message(topic, id))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toContain('2 of 5 message(s) refused, the others stored; first d');
    const entries = await harness.redis().xrange(harness.keys.topic(topic), '-', '+');
    expect(entries.map(([, fields]) => fields[1])).toEqual(['a', 'b', 'c']);
  });

  it('drop-oldest: a delivery whose entry was trimmed still acks and nacks; a dead consumer’s trimmed entry is dropped on claim', async () => {
    const topic = 'bound-drop-pending';
    const bound: TopicBound = { maxMessages: 2, overflow: 'drop-oldest' };
    const transport = harness.transport({ claimIdleMs: 50, claimIntervalMs: 10 });
    await transport.declareTopic(topic, { bound });
    await transport.ensureGroup(topic, 'g');
    const redis = harness.redis();
    const stream = harness.keys.topic(topic);

    // A consumer that dies holding entry 'dead' (read with XREADGROUP, never acked).
    await transport.publish([message(topic, 'dead')]);
    await redis.xreadgroup('GROUP', 'g', 'ghost', 'COUNT', 1, 'STREAMS', stream, '>');
    // Three more: the group has three unread entries, over the bound: trimmed to the newest two.
    await transport.publish(['x', 'y', 'z'].map((id) => message(topic, id)));
    expect((await redis.xrange(stream, '-', '+')).map(([, fields]) => fields[1])).toEqual(['y', 'z']);
    expect((await redis.xpending(stream, 'g'))[0]).toBe(1); // 'dead' is pending, its entry gone

    let nacked = false;
    const consumer = new Collector(async (delivery) => {
      if (delivery.message.id === 'y' && !nacked) {
        nacked = true;
        // Trim 'y' (pending now) away under the handler: two newer entries, one more than the bound.
        await transport.publish(['p', 'q', 'r'].map((id) => message(topic, id)));
        // The heartbeat's XCLAIM of the trimmed id drops it from the pending list (Redis 7): the nack must still re-add it.
        const offset = String(delivery.metadata?.offset);
        await expect.poll(async () => (await redis.xpending(stream, 'g', offset, offset, 1)).length, { timeout: 5_000 }).toBe(0);
        return delivery.nack();
      }
      return delivery.ack();
    });
    await transport.subscribe(consumer.params(topic, 'g', 1));
    // 'y' nacked after its entry was trimmed: redelivered from the consumer's copy, not lost.
    await consumer.waitFor((d) => d.message.id === 'y' && d.attempt === 2, 'the redelivery of the trimmed y');
    await consumer.waitForIds(['q', 'r']);
    // The ghost's entry no longer exists: XAUTOCLAIM drops it from the pending list, nothing wedges.
    await expect.poll(async () => (await redis.xpending(stream, 'g'))[0], { timeout: 5_000 }).toBe(0);
    expect(consumer.ids()).not.toContain('dead');
    expect(consumer.errors).toEqual([]);
  });

  it('refuses a bound in bytes with a ConfigError naming the field', async () => {
    const transport = harness.transport();
    await expect(transport.declareTopic('bound-bytes', { bound: { maxBytes: 1_000, overflow: 'reject' } })).rejects.toSatisfy((error) => error instanceof ConfigError && error.field === 'bound.maxBytes');
  });
});
