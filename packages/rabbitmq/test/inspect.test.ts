import { expect, it } from 'vitest';
import { ConfigError, type Delivery, type Transport, type TransportInspection } from '@omnibus/core';
import { createTransport } from '@omnibus/rabbitmq';
import { describeWithBroker, freePort, recordingLogger } from '@omnibus/test-support';
import { bytes, deliveryLog, uniqueTopic, rabbitHarness } from './helpers.js';

/** Re-read until `accept` holds: the management API's counters are sampled (every 5 s by default), not our code. */
async function inspectUntil(transport: Transport, topic: string, group: string, accept: (inspection: TransportInspection) => boolean, timeoutMs = 20_000): Promise<TransportInspection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const inspection = await transport.inspect!(topic, group);
    if (accept(inspection)) return inspection;
    if (Date.now() > deadline) throw new Error(`inspection never matched; last: ${JSON.stringify(inspection)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const messages = (topic: string, n: number) => Array.from({ length: n }, (_, i) => ({ topic, id: `m-${i}`, key: undefined, headers: {}, body: bytes(String(i)) }));

describeWithBroker('rabbitmq', 'rabbitmq inspect', (endpoint) => {
  const harness = rabbitHarness(endpoint.url, 'insp');
  const { prefix } = harness;
  const open = (options: Record<string, unknown> = {}, logger = recordingLogger()) => harness.open(options, logger);


  it('counts ready messages exactly at once, unacknowledged ones from the management API as an estimate, and no delayed or lag', async () => {
    const transport = open();
    const topic = uniqueTopic('depth');
    await transport.ensureGroup(topic, 'g');
    await transport.publish(messages(topic, 7));
    // Passive queue.declare is answered by the queue itself: no waiting for statistics.
    const before = await transport.inspect!(topic, 'g');
    expect(before).toMatchObject({ topic, delayed: undefined, groups: [{ group: 'g', waiting: { value: 7, exact: true }, delayed: undefined, lag: undefined }] });

    const held: Delivery[] = [];
    const log = deliveryLog((delivery) => void held.push(delivery));
    await transport.subscribe({ topic, group: 'g', concurrency: 3, onDelivery: log.onDelivery, onError: log.onError });
    await log.waitFor((d) => d.length === 3, '3 deliveries held');
    const sampledAt = Date.now();
    const holding = await inspectUntil(transport, topic, 'g', (i) => i.groups[0]?.inFlight?.value === 3);
    console.log(`[rabbitmq inspect] in-flight count shown by the management API ${Date.now() - sampledAt} ms after the deliveries were held`);
    expect(holding.groups[0]).toMatchObject({ waiting: { value: 4, exact: true }, inFlight: { value: 3, exact: false } });
    await Promise.all(held.map((delivery) => delivery.ack()));

    // What one inspect of one group costs (a figure for the README, not a limit).
    const median = async (reader: Transport) => {
      const times: number[] = [];
      for (let i = 0; i < 15; i++) {
        const started = performance.now();
        await reader.inspect!(topic, 'g');
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b)[7]!.toFixed(1);
    };
    console.log(`[rabbitmq inspect] one group: ${await median(transport)} ms with the management API, ${await median(open({ managementUrl: false }))} ms without (median of 15)`);
  });

  it('gives zero counts for an unknown topic or group, and creates nothing', async () => {
    const transport = open();
    const topic = uniqueTopic('unknown');
    expect(await transport.inspect!(topic, 'nobody')).toMatchObject({ delayed: undefined, groups: [{ group: 'nobody', waiting: { value: 0, exact: true }, inFlight: { value: 0, exact: true } }] });
    expect((await transport.inspect!(topic)).groups).toEqual([]);
    const channel = await harness.raw.channel();
    await expect(channel.checkExchange(`${prefix}${topic}`)).rejects.toMatchObject({ code: 404 });
    const again = await harness.raw.channel();
    await expect(again.checkQueue(`${prefix}${topic}.nobody`)).rejects.toMatchObject({ code: 404 });
  });

  it("lists a topic's groups from the broker's bindings, also those another client declared", async () => {
    const topic = uniqueTopic('groups');
    const declarer = open();
    await declarer.ensureGroup(topic, 'billing');
    await declarer.ensureGroup(topic, 'audit');
    await declarer.ensureGroup(`${topic}.sub`, 'other'); // queue <topic>.sub.other: bound to another topic
    const reader = open();
    expect((await reader.inspect!(topic)).groups.map((g) => g.group)).toEqual(['audit', 'billing']);
    // Without the management API a transport can list only the groups it declared itself.
    expect((await open({ managementUrl: false }).inspect!(topic)).groups).toEqual([]);
  });

  it('reports inFlight as undefined when the management API is off or cannot be read, says why once, and never prints its credentials', async () => {
    const topic = uniqueTopic('nomgmt');
    const off = open({ managementUrl: false });
    await off.ensureGroup(topic, 'g');
    await off.publish(messages(topic, 2));
    expect((await off.inspect!(topic, 'g')).groups[0]).toMatchObject({ waiting: { value: 2, exact: true }, inFlight: undefined });

    const secret = 'mgmt-s3cret-pw';
    const cases = [`http://watcher:${secret}@127.0.0.1:${await freePort()}`, `http://watcher:${secret}@127.0.0.1:15672`];
    for (const managementUrl of cases) {
      const logger = recordingLogger();
      const transport = open({ managementUrl, managementTimeoutMs: 1_000 }, logger);
      for (let i = 0; i < 2; i++) expect((await transport.inspect!(topic, 'g')).groups[0]).toMatchObject({ waiting: { value: 2, exact: true }, inFlight: undefined });
      expect(logger.count(/management API cannot be read/)).toBe(1);
      expect(logger.text()).toMatch(/ECONNREFUSED|credentials were refused \(401\)/);
      expect(logger.text()).not.toContain(secret);
    }
  });

  it('refuses a managementUrl that is not http(s) with a ConfigError that does not quote it', () => {
    for (const managementUrl of ['ftp://u:hidden-pw@host:15672', 'not a url hidden-pw', 'http://host:15672/?x=hidden-pw']) {
      let thrown: unknown;
      try {
        createTransport({ url: endpoint.url, options: { managementUrl }, logger: recordingLogger() });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).field).toBe('options.managementUrl');
      expect(String((thrown as Error).message)).not.toContain('hidden-pw');
    }
  });
});
