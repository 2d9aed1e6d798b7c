import { expect, it } from 'vitest';
import { isOmnibusError, type Delivery, type OutgoingMessage, type TopicBound, type Transport } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { bytes, deliveryLog, text, uniqueTopic, rabbitHarness } from './helpers.js';

/** Outcomes of racing one-message publishes: accepted ids, QUEUE_FULL refusals, anything else. */
interface Outcomes {
  accepted: string[];
  refused: number;
  other: unknown[];
}

describeWithBroker('rabbitmq', 'rabbitmq bounded topics', (endpoint) => {
  const harness = rabbitHarness(endpoint.url, 'bound');
  const { prefix } = harness;
  const open = (options: Record<string, unknown> = {}) => harness.open(options);
  const bounded = async (transport: Transport, topic: string, bound: TopicBound) => {
    await transport.declareTopic?.(topic, { bound });
    return transport;
  };
  const message = (topic: string, id: string, delayMs?: number): OutgoingMessage => ({ id, topic, key: undefined, headers: {}, body: bytes(id), delayMs });
  const race = async (publishers: readonly Transport[], topic: string, count: number): Promise<Outcomes> => {
    const outcomes: Outcomes = { accepted: [], refused: 0, other: [] };
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const id = `m-${i}`;
        try {
          await (publishers[i % publishers.length] as Transport).publish([message(topic, id)]);
          outcomes.accepted.push(id);
        } catch (error) {
          if (isOmnibusError(error, 'QUEUE_FULL')) outcomes.refused += 1;
          else outcomes.other.push(error);
        }
      }),
    );
    return outcomes;
  };
  const queueDepth = async (queue: string): Promise<number | undefined> => {
    const channel = await harness.raw.channel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch {
      return undefined; // 404: the queue does not exist (the channel is closed by it)
    } finally {
      await channel.close().catch(() => {});
    }
  };
  const gate = () => {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    return { promise, release };
  };


  it('keeps a reject bound exactly with 4 racing publishers (overshoot measured and logged)', async () => {
    for (const { bound, each } of [
      { bound: 10, each: 10 },
      { bound: 1_000, each: 2_000 },
    ]) {
      const topic = uniqueTopic('race');
      const consumer = await bounded(open(), topic, { maxMessages: bound, overflow: 'reject' });
      await consumer.ensureGroup(topic, 'g');
      const publishers = await Promise.all([1, 2, 3, 4].map(() => bounded(open(), topic, { maxMessages: bound, overflow: 'reject' })));
      const startedAt = Date.now();
      const outcomes = await race(publishers, topic, 4 * each);
      const tookMs = Date.now() - startedAt;
      console.log(`rabbitmq reject bound ${bound}, 4 publishers x ${each}: ${outcomes.accepted.length} accepted (overshoot ${outcomes.accepted.length - bound}), ${outcomes.refused} refused, ${tookMs} ms`);
      expect(outcomes.other).toEqual([]);
      expect(outcomes.accepted.length).toBeLessThanOrEqual(bound);
      // A classic queue checks its length message by message: exact, not merely under.
      expect(outcomes.accepted.length).toBe(bound);
      expect(outcomes.refused).toBe(4 * each - bound);
      // Nothing refused was stored.
      expect(await queueDepth(`${prefix}${topic}.g`)).toBe(bound);
    }
  });

  it('refuses a batch that does not fit with QUEUE_FULL, storing what fit', async () => {
    const topic = uniqueTopic('batch');
    const transport = await bounded(open(), topic, { maxMessages: 2, overflow: 'reject' });
    await transport.ensureGroup(topic, 'g');
    const error = await transport.publish(['a', 'b', 'c', 'd'].map((id) => message(topic, id))).catch((e: unknown) => e);
    expect(isOmnibusError(error, 'QUEUE_FULL')).toBe(true);
    expect((error as Error).message).toMatch(/2 of 4 messages/);
    expect(await queueDepth(`${prefix}${topic}.g`)).toBe(2);
  });

  it('stores a message refused by one full group in the topic\'s other groups (a RabbitMQ nack is per message, not per queue)', async () => {
    const topic = uniqueTopic('fanout');
    const transport = await bounded(open(), topic, { maxMessages: 1, overflow: 'reject' });
    await transport.ensureGroup(topic, 'full');
    await transport.publish([message(topic, 'first')]);
    await transport.ensureGroup(topic, 'roomy');
    const error = await transport.publish([message(topic, 'second')]).catch((e: unknown) => e);
    expect(isOmnibusError(error, 'QUEUE_FULL')).toBe(true);
    expect(await queueDepth(`${prefix}${topic}.full`)).toBe(1);
    // The documented limit: the group with room kept it.
    expect(await queueDepth(`${prefix}${topic}.roomy`)).toBe(1);
  });

  it('lets delayed retries and delayed publishes of a full topic re-enter through the re-entry queue, never refused or dropped', async () => {
    const topic = uniqueTopic('reentry');
    const transport = await bounded(open(), topic, { maxMessages: 2, overflow: 'reject' });
    const hold = gate();
    const log = deliveryLog(async (d: Delivery) => {
      if (text(d.message.body) === 'retried' && d.attempt === 1) return d.nack({ delayMs: 200 });
      if (text(d.message.body) === 'held') await hold.promise;
      return d.ack();
    });
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await transport.publish([message(topic, 'retried')]);
    await log.waitFor((ds) => ds.some((d) => text(d.message.body) === 'retried'), 'the first attempt');
    await transport.publish([message(topic, 'held')]);
    await log.waitFor((ds) => ds.some((d) => text(d.message.body) === 'held'), 'the held message in its handler');
    await transport.publish([message(topic, 'a'), message(topic, 'b')]);
    const refused = await transport.publish([message(topic, 'c')]).catch((e: unknown) => e);
    expect(isOmnibusError(refused, 'QUEUE_FULL')).toBe(true);
    // Full, yet a delayed publish is accepted: it waits in a bucket and re-enters beside the bound.
    await transport.publish([message(topic, 'delayed', 200)]);
    expect(await queueDepth(`${prefix}${topic}.g`)).toBe(2);
    hold.release();
    await log.waitFor((ds) => ['a', 'b', 'delayed'].every((id) => ds.some((d) => text(d.message.body) === id)) && ds.some((d) => text(d.message.body) === 'retried' && d.attempt === 2), 'a, b, the delayed publish and the retry');
    const reentry = `${prefix}omnibus:reentry:${topic}.g`;
    const retry = log.deliveries.find((d) => text(d.message.body) === 'retried' && d.attempt === 2);
    const delayed = log.deliveries.find((d) => text(d.message.body) === 'delayed');
    expect(retry?.metadata?.queue).toBe(reentry);
    expect(delayed?.metadata?.queue).toBe(reentry);
    expect(log.deliveries.filter((d) => text(d.message.body) === 'delayed')).toHaveLength(1);
  });

  it('refuses a bound that differs from the existing queue\'s with a ConfigError on bound, and keeps working', async () => {
    const topic = uniqueTopic('mismatch');
    await open().ensureGroup(topic, 'g'); // unbounded, as an earlier release declared it
    const transport = await bounded(open(), topic, { maxMessages: 5, overflow: 'reject' });
    const error = await transport.ensureGroup(topic, 'g').catch((e: unknown) => e);
    expect(isOmnibusError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as { field?: string }).field).toBe('bound');
    expect((error as Error).message).toMatch(/x-max-length/);
    // And the other way round: a bounded queue declared without its bound.
    const other = uniqueTopic('mismatch');
    await transport.declareTopic?.(other, { bound: { maxMessages: 5, overflow: 'reject' } });
    await transport.ensureGroup(other, 'g');
    const unbounded = await open().ensureGroup(other, 'g').catch((e: unknown) => e);
    expect((unbounded as { field?: string }).field).toBe('bound');
    // Only the declaration's channel was closed: the same transport still declares, publishes, consumes.
    const fine = uniqueTopic('fine');
    const log = deliveryLog();
    await transport.subscribe({ topic: fine, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await transport.publish([message(fine, 'ok')]);
    await log.waitFor((ds) => ds.length === 1, 'a delivery after the refused declaration');
    await transport.publish([message(other, 'still bounded')]);
    expect(await queueDepth(`${prefix}${other}.g`)).toBe(1);
  });

  it('drops the oldest with a drop-oldest bound in bytes, and deleteGroup removes the re-entry queue', async () => {
    const topic = uniqueTopic('drop');
    const transport = await bounded(open(), topic, { maxBytes: 10, overflow: 'drop-oldest' });
    await transport.ensureGroup(topic, 'g');
    for (const id of ['aaaa', 'bbbb', 'cccc', 'dddd']) await transport.publish([message(topic, id)]);
    expect(await queueDepth(`${prefix}${topic}.g`)).toBe(2);

    const rejecting = uniqueTopic('delete');
    await bounded(transport, rejecting, { maxMessages: 3, overflow: 'reject' });
    await transport.ensureGroup(rejecting, 'g');
    const reentry = `${prefix}omnibus:reentry:${rejecting}.g`;
    expect(await queueDepth(reentry)).toBe(0);
    // Deleted by a process that does not know the bound (as the CLI would).
    await open().deleteGroup?.(rejecting, 'g');
    expect(await queueDepth(reentry)).toBeUndefined();
    expect(await queueDepth(`${prefix}${rejecting}.g`)).toBeUndefined();
  });

  it('offers no reject bound on quorum group queues (they overshoot), and refuses one', async () => {
    const transport = open({ queueType: 'quorum' });
    expect(transport.capabilities.boundedTopics).toEqual({ reject: 'none', dropOldest: 'native', maxBytes: true });
    const error = await transport.declareTopic?.(uniqueTopic('quorum'), { bound: { maxMessages: 5, overflow: 'reject' } }).catch((e: unknown) => e);
    expect(isOmnibusError(error, 'UNSUPPORTED')).toBe(true);
  });
});
