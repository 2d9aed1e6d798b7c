import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { Harness } from './helpers/transports.js';

/**
 * The attempt count decides when the retry policy gives up. A foreign producer can XADD any
 * field to a topic stream, so the count must come from what Redis counts and what Omnibus'
 * own scripts write into its internal keys, never from a field of a topic-stream entry.
 */
describeWithBroker('redis', 'redis transport: attempt counts a producer cannot spoof', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('ignores an attempt field a foreign producer wrote on the topic stream, and counts nacks itself', async () => {
    const transport = harness.transport();
    // Nack twice, then ack: the attempts seen must be 1, 2, 3.
    const collector = new Collector((delivery) => (delivery.attempt < 3 ? delivery.nack() : delivery.ack()));
    await transport.subscribe(collector.params('spoofed', 'g'));
    const redis = harness.redis();
    await redis.xadd(harness.keys.topic('spoofed'), '*', 'id', 'foreign', 'headers', '{}', 'body', '{}', 'attempt', '99');
    await redis.xadd(harness.keys.topic('spoofed'), '*', 'attempt', '1000000', 'id', 'foreign-first', 'body', '');
    await collector.waitFor((d) => d.message.id === 'foreign' && d.attempt === 3, 'the third attempt of the foreign message');
    await collector.waitFor((d) => d.message.id === 'foreign-first' && d.attempt === 3, 'the third attempt of the other one');
    for (const id of ['foreign', 'foreign-first']) {
      expect(collector.deliveries.filter((d) => d.message.id === id).map((d) => d.attempt)).toEqual([1, 2, 3]);
    }
  });

  it('counts a claimed entry by its Redis delivery count, whatever attempt field it carries', async () => {
    const redis = harness.redis();
    const stream = harness.keys.topic('claimed');
    await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
    await redis.xadd(stream, '*', 'id', 'orphan', 'headers', '{}', 'body', '{}', 'attempt', '50');
    // A consumer that read the entry and died: it stays pending with a delivery count of 1.
    await redis.xreadgroup('GROUP', 'g', 'dead-consumer', 'COUNT', 10, 'STREAMS', stream, '>');
    const transport = harness.transport({ claimIdleMs: 200, claimIntervalMs: 50 });
    const collector = new Collector();
    await transport.subscribe(collector.params('claimed', 'g'));
    const claimed = await collector.waitFor((d) => d.message.id === 'orphan', 'the claimed entry');
    expect(claimed.attempt).toBe(2);
  });
});
