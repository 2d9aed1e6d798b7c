import { afterAll, afterEach, expect, it } from 'vitest';
import { ConfigError, type Delivery, type Transport } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, kafkaAdmin } from '@omnibus/test-support';
import { createNaming } from '../src/naming.js';
import { body, DeliveryLog, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('delgroup');
const naming = createNaming({ prefix });

describeWithBroker('kafka', 'kafka transport: deleteGroup', (endpoint) => {
  const admin = kafkaAdmin(endpoint.brokers);
  const open: Transport[] = [];
  const transport = () => {
    const t = makeTransport(endpoint.url, prefix, { partitions: 1 });
    open.push(t);
    return t;
  };
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await admin.disconnect();
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('removes the consumer group and its retry topic (with its delayed retries), never the topic, its delay topic or another group', async () => {
    await admin.connect();
    const t = transport();
    const topic = unique('two-groups');
    const message = (id: string, delayMs?: number) => ({ id, topic, key: undefined, headers: {}, body: body(id), ...(delayMs ? { delayMs } : {}) });
    await t.ensureGroup(topic, 'kept');
    const gone = new DeliveryLog();
    const sub = await t.subscribe({ topic, group: 'gone', concurrency: 1, onDelivery: gone.onDelivery, onError: () => {} });
    await t.publish([message('m1'), message('delayed', 600_000)]);
    // A delayed retry of the group, waiting in its retry topic.
    await (await gone.waitFor((d) => d.message.id === 'm1')).nack({ delayMs: 600_000 });
    await sub.close();
    const retryTopic = naming.retryTopic(topic, 'gone');
    expect(await admin.listTopics()).toContain(retryTopic);

    await t.deleteGroup?.(topic, 'gone');
    await t.deleteGroup?.(topic, 'gone'); // idempotent
    await t.deleteGroup?.(topic, 'never-existed');

    // Checked with kafkajs' own admin: nothing of the group remains.
    const groupIds = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groupIds).not.toContain(naming.groupId(topic, 'gone'));
    expect(groupIds).not.toContain(naming.groupId(topic, 'never-existed'));
    expect(groupIds).toContain(naming.groupId(topic, 'kept'));
    const topics = await admin.listTopics();
    expect(topics).not.toContain(retryTopic);
    expect(topics).toContain(naming.topic(topic));
    expect(topics).toContain(naming.delayTopic(topic));
    // Only this test has made topics of the prefix so far.
    expect(topics.filter((name) => name.startsWith(prefix)).sort()).toEqual([naming.topic(topic), naming.delayTopic(topic)].sort());

    // The other group still gets its message (its copy of m1), from its own committed offset.
    const kept = new DeliveryLog();
    await t.subscribe({ topic, group: 'kept', concurrency: 1, onDelivery: kept.onDelivery, onError: () => {} });
    await kept.waitFor((d) => d.message.id === 'm1');

    // A group made again with the same name starts at the end, with an empty retry topic.
    const reborn = new DeliveryLog();
    await t.subscribe({ topic, group: 'gone', concurrency: 1, onDelivery: reborn.onDelivery, onError: () => {} });
    await t.publish([message('fresh')]);
    await reborn.waitFor((d) => d.message.id === 'fresh');
    await (reborn.deliveries[0] as Delivery).nack();
    await reborn.waitForCount(2);
    expect(reborn.deliveries.map((d) => [d.message.id, d.attempt])).toEqual([
      ['fresh', 1],
      ['fresh', 2],
    ]);
  });

  it('is refused with a ConfigError while a subscription of this transport, or a member elsewhere, reads the group; nothing is deleted', async () => {
    await admin.connect();
    const t = transport();
    const topic = unique('busy');
    const sub = await t.subscribe({ topic, group: 'busy', concurrency: 1, onDelivery: (d) => void d.ack(), onError: () => {} });
    const own = await t.deleteGroup?.(topic, 'busy').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(own).toBeInstanceOf(ConfigError);
    expect((own as ConfigError).field).toBe('group');
    await sub.close();

    // A member of another transport (another process, as far as the broker goes).
    const elsewhere = transport();
    await elsewhere.subscribe({ topic, group: 'busy', concurrency: 1, onDelivery: (d) => void d.ack(), onError: () => {} });
    const remote = await t.deleteGroup?.(topic, 'busy').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(remote).toBeInstanceOf(ConfigError);
    expect(String((remote as Error).message)).toMatch(/has members/);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(naming.groupId(topic, 'busy'));
    expect(await admin.listTopics()).toContain(naming.retryTopic(topic, 'busy'));
  });
});
