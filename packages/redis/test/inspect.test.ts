import { afterEach, beforeEach, expect, it } from 'vitest';
import { ConfigError, type Delivery, type GroupInspection, type TransportInspection } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { COUNT_CHUNK, COUNT_CHUNK_BYTES } from '../src/inspect.js';
import { Collector } from './helpers/collector.js';
import { eventually } from './helpers/wait.js';
import { Harness, message } from './helpers/transports.js';

const groupOf = (inspection: TransportInspection, group: string): GroupInspection | undefined => inspection.groups.find((g) => g.group === group);

/** The figures of a group, exact ones as plain numbers, approximate ones marked `~n`. */
function figures(group: GroupInspection | undefined): Record<string, number | string | undefined> {
  const show = (count: { value: number; exact: boolean } | undefined) => (count === undefined ? undefined : count.exact ? count.value : `~${count.value}`);
  return { waiting: show(group?.waiting), inFlight: show(group?.inFlight), delayed: show(group?.delayed), lag: show(group?.lag) };
}

describeWithBroker('redis', 'redis transport: inspect', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('reports every group of the topic, in name order, and creates nothing for unknown topics or groups', async () => {
    const transport = harness.transport();
    await transport.ensureGroup('many', 'zeta');
    await transport.ensureGroup('many', 'alpha');
    await transport.publish([message('many', 'a'), message('many', 'b')]);

    const all = await transport.inspect('many');
    expect(all.topic).toBe('many');
    expect(all.groups.map((g) => g.group)).toEqual(['alpha', 'zeta']);
    expect(figures(groupOf(all, 'alpha'))).toEqual({ waiting: 2, inFlight: 0, delayed: 0, lag: 2 });
    expect(all.delayed).toEqual({ value: 0, exact: true });

    const before = await harness.redis().keys(`${harness.prefix}*`);
    const unknownTopic = await transport.inspect('never-published');
    expect(unknownTopic.groups).toEqual([]);
    expect(unknownTopic.delayed).toEqual({ value: 0, exact: true });
    const unknownGroup = await transport.inspect('many', 'nobody');
    expect(figures(groupOf(unknownGroup, 'nobody'))).toEqual({ waiting: 0, inFlight: 0, delayed: 0, lag: 0 });
    expect(figures(groupOf(await transport.inspect('never-published', 'nobody'), 'nobody'))).toEqual({ waiting: 0, inFlight: 0, delayed: 0, lag: 0 });
    expect((await harness.redis().keys(`${harness.prefix}*`)).sort()).toEqual(before.sort());
  });

  it('refuses a topic or group name the transport could not map with a ConfigError naming the field', async () => {
    const transport = harness.transport();
    await expect(transport.inspect('a:b')).rejects.toMatchObject({ name: 'ConfigError', field: 'topic' });
    await expect(transport.inspect('a', 'g:h')).rejects.toBeInstanceOf(ConfigError);
  });

  it('counts delayed publishes for the topic and a delayed retry for its group only, then waiting once due', async () => {
    const transport = harness.transport();
    await transport.ensureGroup('later', 'other');
    let first!: (delivery: Delivery) => void;
    const firstDelivery = new Promise<Delivery>((resolve) => (first = resolve));
    const retrying = new Collector((delivery) => {
      if (delivery.attempt === 1) first(delivery);
      return delivery.attempt === 1 ? undefined : delivery.ack();
    });
    const subscription = await transport.subscribe(retrying.params('later', 'retrying'));
    await transport.publish([message('later', 'now'), message('later', 'in-a-minute-1', { delayMs: 60_000 }), message('later', 'in-a-minute-2', { delayMs: 60_000 })]);
    const delivery = await firstDelivery;

    const held = await transport.inspect('later');
    expect(held.delayed).toEqual({ value: 2, exact: true });
    expect(figures(groupOf(held, 'retrying'))).toEqual({ waiting: 0, inFlight: 1, delayed: 0, lag: 0 });
    expect(figures(groupOf(held, 'other'))).toEqual({ waiting: 1, inFlight: 0, delayed: 0, lag: 1 });

    await subscription.stop();
    await delivery.nack({ delayMs: 300 });
    const delayed = await transport.inspect('later', 'retrying');
    expect(figures(groupOf(delayed, 'retrying'))).toEqual({ waiting: 0, inFlight: 0, delayed: 1, lag: 0 });
    expect(delayed.delayed).toEqual({ value: 2, exact: true });

    // Due: moved to the group's redelivery stream, where it waits for this group only (no consumer runs).
    await eventually(async () => groupOf(await transport.inspect('later', 'retrying'), 'retrying')?.delayed?.value === 0, { what: 'the retry to come due' });
    const due = await transport.inspect('later');
    expect(figures(groupOf(due, 'retrying'))).toEqual({ waiting: 1, inFlight: 0, delayed: 0, lag: 0 });
    expect(figures(groupOf(due, 'other'))).toEqual({ waiting: 1, inFlight: 0, delayed: 0, lag: 1 });
  });

  it('counts a released delivery as waiting again, no longer in flight', async () => {
    const transport = harness.transport({ claimIdleMs: 60_000 });
    const holder = new Collector(() => undefined);
    const subscription = await transport.subscribe(holder.params('released', 'g', 3));
    await transport.publish([message('released', 'a'), message('released', 'b'), message('released', 'c')]);
    await holder.waitFor(() => holder.deliveries.length === 3, 'three held deliveries');
    expect(figures(groupOf(await transport.inspect('released', 'g'), 'g'))).toEqual({ waiting: 0, inFlight: 3, delayed: 0, lag: 0 });
    await subscription.close();
    expect(figures(groupOf(await transport.inspect('released', 'g'), 'g'))).toEqual({ waiting: 3, inFlight: 0, delayed: 0, lag: 0 });
  });

  it('counts the waiting entries itself where Redis cannot give the lag (an entry deleted after the group position)', async () => {
    const transport = harness.transport();
    await transport.ensureGroup('holes', 'g');
    await transport.publish(Array.from({ length: 5 }, (_, i) => message('holes', `m-${i}`)));
    const redis = harness.redis();
    const stream = harness.keys.topic('holes');
    const [, [secondId]] = (await redis.xrange(stream, '-', '+')) as unknown as [[string], [string]];
    await redis.xdel(stream, secondId);
    // Redis' own lag is unknown now (a tombstone lies after the group's last-delivered-id).
    const raw = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    const info = raw[0] as unknown[];
    expect(info[info.indexOf('lag') + 1]).toBeNull();
    expect(figures(groupOf(await transport.inspect('holes', 'g'), 'g'))).toEqual({ waiting: 4, inFlight: 0, delayed: 0, lag: 4 });
  });

  it(`counts past ${COUNT_CHUNK} entries chunk by chunk, and then says the count is approximate`, async () => {
    const transport = harness.transport();
    const total = COUNT_CHUNK + 37;
    await transport.ensureGroup('crowd', 'g');
    const ids = Array.from({ length: total }, (_, i) => `m-${i}`);
    await transport.publish(ids.map((id) => message('crowd', id, { delayMs: 60_000 })));
    await transport.publish(ids.map((id) => message('crowd', id)));
    const redis = harness.redis();
    const stream = harness.keys.topic('crowd');
    const [[firstId]] = (await redis.xrange(stream, '-', '+', 'COUNT', 1)) as unknown as [[string]];
    const [[lastId]] = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1)) as unknown as [[string]];
    await redis.xdel(stream, lastId); // Redis' lag unknown: counted by the transport
    const inspection = await transport.inspect('crowd', 'g');
    expect(inspection.delayed).toEqual({ value: total, exact: false });
    expect(figures(groupOf(inspection, 'g'))).toEqual({ waiting: `~${total - 1}`, inFlight: 0, delayed: '~0', lag: `~${total - 1}` });
    expect(firstId).not.toBe(lastId);
  });

  it(`reads at most about ${COUNT_CHUNK_BYTES} bytes per script run, whatever the message size`, async () => {
    const transport = harness.transport();
    await transport.ensureGroup('heavy', 'g');
    const body = new Uint8Array(1024 * 1024);
    const count = Math.ceil(COUNT_CHUNK_BYTES / body.byteLength) + 2;
    const ids = Array.from({ length: count }, (_, i) => `big-${i}`);
    await transport.publish(ids.map((id) => message('heavy', id, { body, delayMs: 60_000 })));
    await transport.publish(ids.map((id) => message('heavy', id, { body })));
    const redis = harness.redis();
    const [, [secondId]] = (await redis.xrange(harness.keys.topic('heavy'), '-', '+', 'COUNT', 2)) as unknown as [[string], [string]];
    await redis.xdel(harness.keys.topic('heavy'), secondId); // a tombstone after the group position: the transport counts
    const inspection = await transport.inspect('heavy', 'g');
    // Far fewer entries than COUNT_CHUNK, yet more than one run each: the byte budget split them.
    expect(inspection.delayed).toEqual({ value: count, exact: false });
    expect(figures(groupOf(inspection, 'g'))).toMatchObject({ waiting: `~${count - 1}`, lag: `~${count - 1}` });
  });
});
