import { afterAll, afterEach, expect, it } from 'vitest';
import { AckPolicy } from '@nats-io/jetstream';
import { ConfigError, type GroupInspection, type TransportInspection } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { describeWithBroker, freePort, uniqueName } from '@omnibus/test-support';
import { bytes, collector, deleteStreams, observableTransport, uniquePrefixes, withJsm, type ObservableTransport } from './helpers.js';

const HOUR = 3_600_000;

/** The figures of a group, without the exact flags (checked separately). */
const values = (group: GroupInspection | undefined) => group && { waiting: group.waiting?.value, inFlight: group.inFlight?.value, delayed: group.delayed?.value, lag: group.lag?.value };

describeWithBroker('nats', 'nats transport: inspect', (endpoint) => {
  const prefixes = uniquePrefixes('inspect');
  const opened: ObservableTransport[] = [];
  const open = async (options: NatsOptionsInput = {}): Promise<ObservableTransport> => {
    const transport = observableTransport(endpoint.url, { ...prefixes, ackWaitMs: 60_000, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };
  const message = (topic: string, id: string, delayMs?: number) => ({ id, topic, key: undefined, headers: {}, body: bytes(id), delayMs });
  const streamNames = () =>
    withJsm(endpoint.url, async (jsm) => {
      const names: string[] = [];
      for await (const name of jsm.streams.names()) if (name.startsWith(`${prefixes.streamPrefix}_`)) names.push(name);
      return names.sort();
    });

  /** Re-read until `accept` holds: acks and naks reach the server without a confirmation. */
  async function inspectUntil(transport: ObservableTransport, topic: string, group: string | undefined, accept: (i: TransportInspection) => boolean): Promise<TransportInspection> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const inspection = await transport.inspect(topic, group);
      if (accept(inspection)) return inspection;
      if (Date.now() > deadline) throw new Error(`inspection never matched; last: ${JSON.stringify(inspection)}`);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the server's counters are what we wait for
    }
  }

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it('gives zero counts for an unknown topic and group, and creates nothing', async () => {
    const transport = await open();
    const topic = uniqueName('unknown');
    const before = await streamNames();
    const readFrom = Date.now();
    const all = await transport.inspect(topic);
    expect(all).toMatchObject({ topic, groups: [], delayed: { value: 0, exact: true } });
    expect(all.readAt.getTime()).toBeGreaterThanOrEqual(readFrom);
    const one = await transport.inspect(topic, 'g');
    expect(one.groups).toEqual([{ group: 'g', waiting: { value: 0, exact: true }, inFlight: { value: 0, exact: true }, delayed: undefined, lag: { value: 0, exact: true } }]);
    // A group unknown on a topic that exists.
    await transport.ensureGroup(topic, 'other');
    const afterEnsure = await streamNames();
    expect(values((await transport.inspect(topic, 'g')).groups[0])).toEqual({ waiting: 0, inFlight: 0, delayed: undefined, lag: 0 });
    expect((await transport.inspect(topic)).groups.map((g) => g.group)).toEqual(['other']);
    expect(await streamNames()).toEqual(afterEnsure);
    expect(afterEnsure).toEqual([...before, `${prefixes.streamPrefix}_${topic}`].sort());
    await withJsm(endpoint.url, async (jsm) => {
      const consumers: string[] = [];
      for await (const info of jsm.consumers.list(`${prefixes.streamPrefix}_${topic}`)) consumers.push(info.name);
      expect(consumers).toEqual(['other']);
    });
  });

  it('counts waiting, in flight (a delayed retry among them), lag per group, and delayed publishes per topic', async () => {
    const transport = await open();
    const topic = uniqueName('counts');
    const neighbour = uniqueName('neighbour');
    await transport.ensureGroup(topic, 'idle');
    await transport.ensureGroup(neighbour, 'g');
    const seen = collector();
    // m1: a delayed retry (an hour); m2: held by its handler; the rest acked.
    seen.handle = (d) => {
      if (d.message.id === 'm1') void d.nack({ delayMs: HOUR });
      else if (d.message.id !== 'm2') void d.ack();
    };
    await transport.subscribe({ topic, group: 'busy', concurrency: 4, onDelivery: seen.onDelivery, onError: seen.onError });
    await transport.publish(['m1', 'm2', 'm3', 'm4', 'm5'].map((id) => message(topic, id)));
    await transport.publish([message(topic, 'd1', HOUR), message(topic, 'd2', HOUR), message(neighbour, 'd3', HOUR)]);
    await seen.until(() => seen.deliveries.length === 5, 10_000, 'the five messages');

    const inspection = await inspectUntil(transport, topic, undefined, (i) => i.groups.find((g) => g.group === 'busy')?.inFlight?.value === 2);
    expect(inspection.topic).toBe(topic);
    expect(inspection.delayed).toEqual({ value: 2, exact: true });
    expect(inspection.groups.map((g) => g.group)).toEqual(['busy', 'idle']);
    const [busy, idle] = inspection.groups;
    // The delayed retry is JetStream's ack pending, like the held delivery: both are in flight.
    expect(values(busy)).toEqual({ waiting: 0, inFlight: 2, delayed: undefined, lag: 0 });
    expect(values(idle)).toEqual({ waiting: 5, inFlight: 0, delayed: undefined, lag: 5 });
    for (const group of [busy, idle]) for (const count of [group?.waiting, group?.inFlight, group?.lag]) expect(count?.exact).toBe(true);

    const one = await transport.inspect(topic, 'idle');
    expect(one.groups.map(values)).toEqual([{ waiting: 5, inFlight: 0, delayed: undefined, lag: 5 }]);
    expect((await transport.inspect(neighbour)).delayed).toEqual({ value: 1, exact: true });
  });

  it('lists only Omnibus groups of the topic, refuses to read a foreign consumer as a group, and checks names first', async () => {
    const transport = await open();
    const topic = uniqueName('foreign');
    await transport.ensureGroup(topic, 'mine');
    // A consumer someone added by hand, without the topic's filter: not a group of this topic.
    await withJsm(endpoint.url, (jsm) => jsm.consumers.add(`${prefixes.streamPrefix}_${topic}`, { durable_name: 'by-hand', ack_policy: AckPolicy.Explicit }));
    expect((await transport.inspect(topic)).groups.map((g) => g.group)).toEqual(['mine']);
    const foreign = await transport.inspect(topic, 'by-hand').catch((error: unknown) => error);
    expect(foreign).toBeInstanceOf(ConfigError);
    expect((foreign as ConfigError).field).toBe('group');

    // No server there: a name error must come before any connection attempt.
    const stranger = observableTransport(`nats://127.0.0.1:${await freePort()}`, { ...prefixes, connectTimeoutMs: 500 });
    opened.push(stranger);
    const cases: [topic: string, group: string | undefined, field: string][] = [
      ['a..b', undefined, 'topic'],
      [topic, 'a.b', 'group'],
      [topic, 'a b', 'group'],
    ];
    for (const [name, group, field] of cases) {
      const error = await stranger.inspect(name, group).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
    }
  });

  it('reads one group or all 50 of a topic well within a second (figures printed)', async () => {
    const transport = await open();
    const topic = uniqueName('cost');
    const groups = Array.from({ length: 50 }, (_, i) => `g${String(i).padStart(2, '0')}`);
    for (const group of groups) await transport.ensureGroup(topic, group);
    await transport.publish(Array.from({ length: 100 }, (_, i) => message(topic, `m${i}`)));
    const time = async (read: () => Promise<TransportInspection>, runs: number) => {
      const took: number[] = [];
      for (let i = 0; i < runs; i += 1) {
        const start = performance.now();
        await read();
        took.push(performance.now() - start);
      }
      took.sort((a, b) => a - b);
      return took[Math.floor(runs / 2)] as number;
    };
    const all = await transport.inspect(topic);
    expect(all.groups).toHaveLength(50);
    expect(all.groups.every((g) => g.waiting?.value === 100)).toBe(true);
    const one = await time(() => transport.inspect(topic, 'g07'), 30);
    const fifty = await time(() => transport.inspect(topic), 10);
    console.log(`[nats inspect] median: one group ${one.toFixed(2)} ms; all 50 groups of a topic ${fifty.toFixed(2)} ms`);
    expect(one).toBeLessThan(1_000);
  });
});
