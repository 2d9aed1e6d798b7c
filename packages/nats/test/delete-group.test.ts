import { afterAll, afterEach, expect, it } from 'vitest';
import { AckPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { ConfigError, type Delivery } from '@omnibus/core';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { bytes, collector, deleteStreams, observableTransport, uniquePrefixes, withJsm, type ObservableTransport } from './helpers.js';

const HOUR = 3_600_000;

async function consumerNames(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const names: string[] = [];
  for await (const info of jsm.consumers.list(stream)) names.push(info.name);
  return names.sort();
}

/** The broker's answer to "does this exist?": true, or false on its not-found error. */
async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (error) {
    if (error instanceof Error && /not found/i.test(error.message)) return false;
    throw error;
  }
}

describeWithBroker('nats', 'nats transport: deleteGroup', (endpoint) => {
  const prefixes = uniquePrefixes('delgroup');
  const delayStream = `${prefixes.streamPrefix}__DELAYED`;
  const opened: ObservableTransport[] = [];
  const open = async (): Promise<ObservableTransport> => {
    const transport = observableTransport(endpoint.url, { ...prefixes, ackWaitMs: 60_000 });
    opened.push(transport);
    await transport.connect();
    return transport;
  };
  const message = (topic: string, id: string, delayMs?: number) => ({ id, topic, key: undefined, headers: {}, body: bytes(id), delayMs });
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it("removes the group's consumer with its position, unsettled deliveries and delayed retries, and nothing of the topic or another group", async () => {
    const transport = await open();
    const topic = uniqueName('shared');
    const stream = `${prefixes.streamPrefix}_${topic}`;
    const delaySubject = `${prefixes.subjectPrefix}._delayed.${topic}`;

    // The temporary group: m1 waits for a delayed retry, m2 is held (released when the subscription closes), m3 is acked.
    const temp = collector();
    temp.handle = (d: Delivery) => {
      if (d.message.id === 'm1') void d.nack({ delayMs: HOUR });
      else if (d.message.id === 'm3') void d.ack();
    };
    const tempSubscription = await transport.subscribe({ topic, group: 'temp', concurrency: 3, onDelivery: temp.onDelivery, onError: temp.onError });
    // The other group: a delayed retry of its own for m1, the rest acked.
    const kept = collector();
    kept.handle = (d: Delivery) => void (d.message.id === 'm1' && d.attempt === 1 ? d.nack({ delayMs: HOUR }) : d.ack());
    await transport.subscribe({ topic, group: 'kept', concurrency: 3, onDelivery: kept.onDelivery, onError: kept.onError });
    await transport.publish([message(topic, 'm1'), message(topic, 'm2'), message(topic, 'm3'), message(topic, 'later', HOUR)]);
    await temp.until(() => temp.deliveries.length === 3, 10_000, 'the temporary group has m1-m3');
    await kept.until(() => kept.deliveries.length === 3, 10_000, 'the other group has m1-m3');

    // Refused while this transport reads the group: nothing deleted.
    const refused = await transport.deleteGroup(topic, 'temp').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).field).toBe('group');
    await tempSubscription.close();

    // Before: the group's consumer holds m1 (delayed retry) and m2 (released) unacknowledged.
    const before = await withJsm(endpoint.url, async (jsm) => ({
      consumers: await consumerNames(jsm, stream),
      tempPending: (await jsm.consumers.info(stream, 'temp')).num_ack_pending,
      keptPending: (await jsm.consumers.info(stream, 'kept')).num_ack_pending,
      delayed: (await jsm.streams.info(delayStream, { subjects_filter: delaySubject })).state.subjects?.[delaySubject],
    }));
    expect(before).toEqual({ consumers: ['kept', 'temp'], tempPending: 2, keptPending: 1, delayed: 1 });

    await transport.deleteGroup(topic, 'temp');

    const after = await withJsm(endpoint.url, async (jsm) => ({
      consumers: await consumerNames(jsm, stream),
      temp: await exists(() => jsm.consumers.info(stream, 'temp')),
      keptPending: (await jsm.consumers.info(stream, 'kept')).num_ack_pending,
      delayed: (await jsm.streams.info(delayStream, { subjects_filter: delaySubject })).state.subjects?.[delaySubject],
    }));
    expect(after).toEqual({ consumers: ['kept'], temp: false, keptPending: 1, delayed: 1 });

    // Idempotent, and creates nothing: again, a group that never existed, a topic that never existed.
    const neverPublished = uniqueName('never');
    await transport.deleteGroup(topic, 'temp');
    await transport.deleteGroup(topic, 'never-existed');
    await transport.deleteGroup(neverPublished, 'temp');
    await withJsm(endpoint.url, async (jsm) => {
      expect(await consumerNames(jsm, stream)).toEqual(['kept']);
      expect(await exists(() => jsm.streams.info(`${prefixes.streamPrefix}_${neverPublished}`))).toBe(false);
    });

    // The other group still gets what is published.
    await transport.publish([message(topic, 'after')]);
    await kept.until(() => kept.deliveries.some((d) => d.message.id === 'after'), 10_000, 'the message published after the deletion');

    // A group of the old name starts afresh: created again (not taken from a cache), with nothing of the old one.
    await transport.ensureGroup(topic, 'temp');
    const fresh = await withJsm(endpoint.url, (jsm) => jsm.consumers.info(stream, 'temp'));
    expect({ pending: fresh.num_pending, ackPending: fresh.num_ack_pending }).toEqual({ pending: 0, ackPending: 0 });
    expect(temp.deliveries.map((d) => d.message.id)).toEqual(['m1', 'm2', 'm3']);
  });

  it('refuses a consumer that is not an Omnibus group of the topic, and names it cannot map, before deleting anything', async () => {
    const transport = await open();
    const topic = uniqueName('foreign');
    const stream = `${prefixes.streamPrefix}_${topic}`;
    await transport.ensureGroup(topic, 'mine');
    await withJsm(endpoint.url, (jsm) => jsm.consumers.add(stream, { durable_name: 'by-hand', ack_policy: AckPolicy.Explicit }));
    for (const [name, group, field] of [
      [topic, 'by-hand', 'group'],
      [topic, 'a.b', 'group'],
      ['a..b', 'mine', 'topic'],
    ] as const) {
      const error = await transport.deleteGroup(name, group).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
    }
    await withJsm(endpoint.url, async (jsm) => expect(await consumerNames(jsm, stream)).toEqual(['by-hand', 'mine']));
  });
});
