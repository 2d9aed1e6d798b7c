import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

describeWithBroker('redis', 'redis transport: delivery metadata', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('gives each delivery the id of the stream entry it came from, and which stream that is', async () => {
    const transport = harness.transport();
    const collector = new Collector((delivery) => (delivery.attempt === 1 ? delivery.nack() : delivery.ack()));
    await transport.subscribe(collector.params('meta', 'g'));
    await transport.publish([message('meta', 'm')]);
    const first = await collector.waitFor((d) => d.message.id === 'm' && d.attempt === 1, 'the first delivery');
    const second = await collector.waitFor((d) => d.message.id === 'm' && d.attempt === 2, 'the redelivery');

    const redis = harness.redis();
    const [[topicEntryId]] = (await redis.xrange(harness.keys.topic('meta'), '-', '+')) as unknown as [[string]];
    expect(first.metadata).toEqual({ offset: topicEntryId, stream: 'topic' });
    // The redelivery is a new entry of the group's redelivery stream (deleted once acked).
    expect(second.metadata?.stream).toBe('redelivery');
    expect(second.metadata?.offset).toMatch(/^\d+-\d+$/);
    expect(second.metadata?.offset).not.toBe(topicEntryId);
  });
});
