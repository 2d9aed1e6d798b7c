import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

describeWithBroker('redis', 'redis transport: lost consumer groups (NOGROUP)', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('recreates the group and keeps consuming after the stream was deleted', async () => {
    const topic = 'deleted';
    const transport = harness.transport();
    const collector = new Collector();
    await transport.subscribe(collector.params(topic, 'billing'));
    await transport.publish([message(topic, 'before')]);
    await collector.waitFor((d) => d.message.id === 'before', 'the first message');

    const redis = harness.redis();
    expect(await redis.del(harness.keys.topic(topic))).toBe(1);
    const reported = await collector.waitForError((e) => e.message.includes('NOGROUP'), 'a NOGROUP report');
    expect(reported.message).toContain('billing');

    await transport.publish([message(topic, 'after')]);
    const after = await collector.waitFor((d) => d.message.id === 'after', 'a message published after the deletion');
    expect(after.attempt).toBe(1);
    expect(collector.ids()).toEqual(['before', 'after']);
  });

  it('recreates a destroyed group after what it had read: nothing redelivered, nothing skipped', async () => {
    const topic = 'destroyed';
    const transport = harness.transport();
    const collector = new Collector();
    await transport.subscribe(collector.params(topic, 'billing'));
    await transport.publish([message(topic, 'old-1'), message(topic, 'old-2')]);
    await collector.waitForIds(['old-1', 'old-2']);

    const redis = harness.redis();
    expect(await redis.xgroup('DESTROY', harness.keys.topic(topic), 'billing')).toBe(1);
    // Published while the group does not exist: still delivered once the group is back.
    await transport.publish([message(topic, 'new-1')]);
    await collector.waitForError((e) => e.message.includes('NOGROUP'), 'a NOGROUP report');
    await collector.waitFor((d) => d.message.id === 'new-1', 'the message published while the group was gone');
    await transport.publish([message(topic, 'new-2')]);
    await collector.waitFor((d) => d.message.id === 'new-2', 'a later message');
    expect(collector.ids()).toEqual(['old-1', 'old-2', 'new-1', 'new-2']);
  });

  it('recovers when the whole prefix is wiped (as after FLUSHALL on a Redis without persistence)', async () => {
    const topic = 'wiped';
    const transport = harness.transport();
    const collector = new Collector();
    await transport.subscribe(collector.params(topic, 'billing'));
    const redis = harness.redis();
    await redis.del(harness.keys.topic(topic), harness.keys.retry(topic, 'billing'));
    await collector.waitForError((e) => e.message.includes('NOGROUP'), 'a NOGROUP report');
    await transport.publish([message(topic, 'x')]);
    await collector.waitFor((d) => d.message.id === 'x', 'a message after the wipe');
    // Both streams and their groups exist again.
    expect(await redis.exists(harness.keys.topic(topic), harness.keys.retry(topic, 'billing'))).toBe(2);
  });
});
