import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeWithBroker } from '@omnibus/test-support';
import { Collector } from './helpers/collector.js';
import { FixtureProcess } from './helpers/child.js';
import { Harness, message } from './helpers/transports.js';

describeWithBroker('redis', 'redis transport: crashed consumers', (endpoint) => {
  let harness: Harness;
  const children: FixtureProcess[] = [];
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await Promise.all(children.splice(0).map((child) => child.kill()));
    await harness.cleanup();
  });

  const spawnMember = (topic: string, group: string, mode: 'hang' | 'nack-delay', extra: Record<string, string> = {}) => {
    const child = new FixtureProcess('crashing-consumer.ts', {
      REDIS_URL: endpoint.url,
      PREFIX: harness.prefix,
      TOPIC: topic,
      GROUP: group,
      MODE: mode,
      CLAIM_IDLE_MS: '600',
      ...extra,
    });
    children.push(child);
    return child;
  };

  it('a member killed (SIGKILL) mid-handler has its message processed by another member after the claim idle time', async () => {
    const topic = 'orders';
    const child = spawnMember(topic, 'billing', 'hang');
    await child.waitFor('ready');

    const transport = harness.transport({ claimIdleMs: 600 });
    await transport.publish([message(topic, 'm-crash', { key: 'k1', headers: { tenant: 'ä "x"\n' } })]);
    const handed = await child.waitFor('delivery');
    expect(handed).toMatchObject({ id: 'm-crash', attempt: 1 });
    await child.kill();
    const killedAt = Date.now();

    const survivor = new Collector();
    await transport.subscribe(survivor.params(topic, 'billing'));
    const redelivered = await survivor.waitFor((d) => d.message.id === 'm-crash', 'the crashed member’s message');
    // Claimed only once idle for the claim time (600 ms), counted from the child's last heartbeat,
    // which refreshed the entry at most 200 ms (claimIdleMs / 3) before the kill; second attempt.
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(600 - 200 - 20);
    expect(redelivered.attempt).toBe(2);
    expect(redelivered.message.key).toBe('k1');
    expect(redelivered.message.headers).toEqual({ tenant: 'ä "x"\n' });

    // The survivor's ack cleared it: nothing pending in the group any more.
    const redis = harness.redis();
    await expect.poll(async () => (await redis.xpending(harness.keys.topic(topic), 'billing'))[0], { timeout: 5_000 }).toBe(0);
  });

  it('a delayed retry survives the crash of the member that scheduled it', async () => {
    const topic = 'payments';
    const child = spawnMember(topic, 'billing', 'nack-delay', { NACK_DELAY_MS: '1500' });
    await child.waitFor('ready');

    const transport = harness.transport();
    await transport.publish([message(topic, 'm-retry', { headers: { a: '1' } })]);
    await child.waitFor('delivery');
    const nacked = await child.waitFor('nacked');
    await child.kill();

    // The retry now exists only in Redis (the scheduled set); a fresh member gets it when due.
    const redis = harness.redis();
    expect(await redis.zcard(harness.keys.scheduled)).toBe(1);
    const survivor = new Collector();
    await transport.subscribe(survivor.params(topic, 'billing'));
    const retried = await survivor.waitFor((d) => d.message.id === 'm-retry', 'the delayed retry');
    expect(Date.now()).toBeGreaterThanOrEqual((nacked.at as number) + 1_500 - 50);
    expect(retried.attempt).toBe(2);
    expect(retried.message.headers).toEqual({ a: '1', 'x-retried-by': 'child' });
    expect(await redis.zcard(harness.keys.scheduled)).toBe(0);
    // Exactly once: the original entry was acked atomically with the scheduling.
    expect(survivor.ids()).toEqual(['m-retry']);
  });

  it('a live member with a slow handler keeps its message (heartbeat): no other member takes it', async () => {
    const topic = 'slow';
    const transport = harness.transport({ claimIdleMs: 300 });
    let releaseSlow!: () => void;
    const slowDone = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slow = new Collector(async (delivery) => {
      await slowDone;
      await delivery.ack();
    });
    await transport.subscribe(slow.params(topic, 'workers'));
    await transport.publish([message(topic, 'm-slow')]);
    await slow.waitFor((d) => d.message.id === 'm-slow', 'the slow member to get the message');

    // A competitor that claims idle entries every 50 ms, while the handler runs 5x the claim idle time.
    const other = new Collector();
    await harness.transport({ claimIdleMs: 300, claimIntervalMs: 50 }).subscribe(other.params(topic, 'workers'));
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the handler's duration: the scenario, not a synchronisation
    releaseSlow();
    await transport.publish([message(topic, 'm-after')]);
    await Promise.race([slow.waitFor((d) => d.message.id === 'm-after', 'm-after'), other.waitFor((d) => d.message.id === 'm-after', 'm-after')]);
    expect(other.ids()).not.toContain('m-slow');
    expect(slow.deliveries.filter((d) => d.message.id === 'm-slow')).toHaveLength(1);
  });

  it('recovers a dead consumer’s whole pending list in batches, attempts counted, without starving new messages', async () => {
    const topic = 'backlog';
    const transport = harness.transport({ claimIdleMs: 500 });
    await transport.ensureGroup(topic, 'workers');
    const ids = Array.from({ length: 300 }, (_, i) => `old-${i}`);
    for (let i = 0; i < ids.length; i += 100) await transport.publish(ids.slice(i, i + 100).map((id) => message(topic, id)));
    // A consumer that read everything and died without a trace.
    const redis = harness.redis();
    await redis.xreadgroup('GROUP', 'workers', 'dead-consumer', 'COUNT', 1_000, 'STREAMS', harness.keys.topic(topic), '>');
    expect((await redis.xpending(harness.keys.topic(topic), 'workers'))[0]).toBe(300);

    const survivor = new Collector();
    await transport.subscribe(survivor.params(topic, 'workers', 4));
    await transport.publish([message(topic, 'fresh')]);
    const fresh = await survivor.waitFor((d) => d.message.id === 'fresh', 'the fresh message');
    expect(fresh.attempt).toBe(1);
    await survivor.waitForIds(ids, 20_000);
    const recovered = survivor.deliveries.filter((d) => d.message.id.startsWith('old-'));
    expect(new Set(recovered.map((d) => d.message.id)).size).toBe(300);
    expect(recovered.every((d) => d.attempt === 2)).toBe(true);
  });
});
