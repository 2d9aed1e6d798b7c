import { expect, it } from 'vitest';
import { ConfigError } from '@omnibus/core';
import { delayBucket } from '@omnibus/rabbitmq';
import { describeWithBroker } from '@omnibus/test-support';
import { bytes, deliveryLog, hasRabbitmqctl, listBindings, uniqueTopic, rabbitHarness } from './helpers.js';

const message = (topic: string, id: string) => ({ topic, id, key: undefined, headers: {}, body: bytes(id) });

describeWithBroker('rabbitmq', 'rabbitmq deleteGroup', (endpoint) => {
  const harness = rabbitHarness(endpoint.url, 'delgrp', { managementUrl: false });
  const { prefix } = harness;
  const open = () => harness.open();
  /** The queue's ready count, or 404 when the broker has no such queue (a passive declare creates nothing). */
  const depth = async (queue: string): Promise<number | 404> => {
    const channel = await harness.raw.channel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } catch (error) {
      if ((error as { code?: unknown }).code === 404) return 404;
      throw error;
    } finally {
      await channel.close().catch(() => {});
    }
  };


  it("removes the group's queue, bindings and delayed retries, never the topic or another group, and creates nothing when done again", async () => {
    const transport = open();
    const topic = uniqueTopic('orders');
    const exchange = `${prefix}${topic}`;
    const gone = `${exchange}.gone`;
    const kept = `${exchange}.kept`;
    await transport.ensureGroup(topic, 'kept');
    // The deleted group leaves a delayed retry in a shared bucket behind, and messages in its queue.
    const retryMs = 1_000;
    const bucket = `${prefix}omnibus:delay:q:${delayBucket(retryMs, 8)}`;
    const retrying = deliveryLog((delivery) => delivery.nack({ delayMs: retryMs }));
    const subscription = await transport.subscribe({ topic, group: 'gone', concurrency: 1, onDelivery: retrying.onDelivery, onError: retrying.onError });
    await transport.publish([message(topic, 'retried')]);
    await retrying.waitFor((d) => d.length === 1, 'the delivery that is retried later');
    await subscription.close();
    expect(await depth(bucket)).toBe(1);
    await transport.publish([message(topic, 'a'), message(topic, 'b')]);
    expect(await depth(gone)).toBe(2);

    await transport.deleteGroup!(topic, 'gone');
    expect(await depth(gone)).toBe(404);
    expect(await depth(kept)).toBe(3);
    const channel = await harness.raw.channel();
    await channel.checkExchange(exchange); // the topic stays
    await channel.close();
    // The retry comes due and is dropped (routed to the discard queue), never held in its bucket.
    const deadline = Date.now() + 10_000;
    while ((await depth(bucket)) !== 0) {
      if (Date.now() > deadline) throw new Error(`the deleted group's delayed retry is still in ${bucket}`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // polling the broker's count
    }
    if (await hasRabbitmqctl()) {
      const bindings = (await listBindings(prefix)).filter((b) => b.destination_name === gone || b.routing_key === `q:${gone}`);
      expect(bindings).toEqual([{ source_name: `${prefix}omnibus:router`, destination_name: `${prefix}omnibus:discard`, routing_key: `q:${gone}` }]);
    }

    // Idempotent, and a group that never existed is not declared by deleting it.
    await transport.deleteGroup!(topic, 'gone');
    await transport.deleteGroup!(topic, 'never');
    expect(await depth(gone)).toBe(404);
    expect(await depth(`${exchange}.never`)).toBe(404);

    // The other group still gets everything, old and new; a group made again under the old name starts empty.
    const keptLog = deliveryLog();
    await transport.subscribe({ topic, group: 'kept', concurrency: 4, onDelivery: keptLog.onDelivery, onError: keptLog.onError });
    const reborn = deliveryLog();
    await transport.subscribe({ topic, group: 'gone', concurrency: 4, onDelivery: reborn.onDelivery, onError: reborn.onError });
    await transport.publish([message(topic, 'fresh')]);
    await keptLog.waitFor((d) => d.length === 4, 'the kept group: retried, a, b and fresh');
    await reborn.waitFor((d) => d.length === 1, 'the new group: fresh only');
    expect(keptLog.deliveries.map((d) => d.message.id).sort()).toEqual(['a', 'b', 'fresh', 'retried']);
    expect(reborn.deliveries.map((d) => d.message.id)).toEqual(['fresh']);
  });

  it('is refused with a ConfigError while this transport or another client reads the group, and leaves it working', async () => {
    const transport = open();
    const topic = uniqueTopic('busy');
    const queue = `${prefix}${topic}.busy`;
    const log = deliveryLog();
    const subscription = await transport.subscribe({ topic, group: 'busy', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    await expect(transport.deleteGroup!(topic, 'busy')).rejects.toMatchObject({ constructor: ConfigError, field: 'group' });
    await transport.publish([message(topic, 'still-read')]);
    await log.waitFor((d) => d.length === 1, 'a delivery after the refusal');
    await subscription.close();

    // A consumer of another client (another process) holds the queue: the broker refuses too.
    const foreign = await harness.raw.channel();
    await foreign.consume(queue, () => {});
    await expect(open().deleteGroup!(topic, 'busy')).rejects.toMatchObject({ constructor: ConfigError, field: 'group' });
    expect(await depth(queue)).toBe(0);
    await foreign.close();
    await transport.deleteGroup!(topic, 'busy');
    expect(await depth(queue)).toBe(404);
  });
});
