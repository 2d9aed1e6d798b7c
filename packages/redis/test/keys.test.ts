import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, type Delivery } from '@omnibus/core';
import { describeWithBroker, uniqueName } from '@omnibus/test-support';
import { Keys, parseRedisOptions } from '../src/index.js';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

/** Fails the first delivery of every message with a short delayed nack, acks the redelivery. */
const failOnceDelayed = (delivery: Delivery) => (delivery.attempt === 1 ? delivery.nack({ delayMs: 30 }) : delivery.ack());

/** Each id delivered a second time (the redelivery failOnceDelayed acks). */
async function waitForRedeliveries(collector: Collector, ids: readonly string[]): Promise<void> {
  for (const id of ids) await collector.waitFor((d) => d.message.id === id && d.attempt === 2, `the redelivery of ${id}`);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('redis transport: prefixes', () => {
  it('refuses a prefix whose keys could be those of a shorter prefix, naming options.prefix', () => {
    for (const prefix of ['omnibus:topic:', 'shop:retry:orders:', 'xtopic:', 'a:retry:b']) {
      let caught: unknown;
      try {
        parseRedisOptions({ prefix });
      } catch (error) {
        caught = error;
      }
      expect(caught, prefix).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).field).toBe('options.prefix');
    }
    expect(parseRedisOptions({ prefix: 'shop:staging:' }).prefix).toBe('shop:staging:');
  });
});

describeWithBroker('redis', 'redis transport: names that look like keys or internal names', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('refuses, at its own boundary, topic and group names that could share a key (a:b/c and a/b:c)', async () => {
    const transport = harness.transport();
    const a = new Collector(failOnceDelayed);
    const errors = [
      await rejection(transport.subscribe(a.params('look:a', 'b'))),
      await rejection(transport.subscribe(a.params('look', 'a:b'))),
      await rejection(transport.ensureGroup('look', 'x:y')),
      await rejection(transport.publish([message('look', 'ok'), message('look:a', 'bad')])),
    ];
    expect(errors.map((error) => (error instanceof ConfigError ? error.field : error))).toEqual(['topic', 'group', 'group', 'topic']);
    const keys = await harness.redis().keys(`${harness.prefix}*`);
    expect(keys).toEqual([]);
  });

  it('keeps every topic and group of look-alike names apart: own messages, own redeliveries, own delays, own keys', async () => {
    const base = uniqueName('look');
    // Names that spell out the words of the key layout, and pairs that concatenate alike.
    const topics = [base, `${base}.retry`, `${base}.topic`, `${base}.scheduled`, `${base}.g`, `${base}.g.retry`, 'topic', 'retry', 'scheduled', 'invalid'];
    const groups = ['g', 'retry', 'topic', 'scheduled', 'invalid', `${base}-g`];
    const transport = harness.transport();
    const collectors = new Map<string, Collector>();
    for (const topic of topics) {
      for (const group of groups) {
        const collector = new Collector(failOnceDelayed);
        collectors.set(`${topic} ${group}`, collector);
        await transport.subscribe(collector.params(topic, group, 4));
      }
    }
    const published = new Map<string, string[]>();
    for (const topic of topics) {
      const ids = [`${topic}#now`, `${topic}#later`];
      published.set(topic, ids);
      await transport.publish([message(topic, ids[0] as string), message(topic, ids[1] as string, { delayMs: 40 })]);
    }
    for (const [pair, collector] of collectors) await waitForRedeliveries(collector, published.get(pair.split(' ')[0] as string) as string[]);
    for (const [pair, collector] of collectors) {
      const [topic] = pair.split(' ') as [string];
      const ids = published.get(topic) as string[];
      // Every message twice (the nacked first delivery and the redelivery), and nothing else.
      expect(collector.deliveries.map((d) => `${d.message.id}@${d.attempt}`).sort(), pair).toEqual(ids.flatMap((id) => [`${id}@1`, `${id}@2`]).sort());
      for (const delivery of collector.deliveries) expect(delivery.message.topic, pair).toBe(topic);
    }
    // Each name has its own keys, exactly the documented ones and no other.
    const keys = new Keys(harness.prefix);
    const expected = [keys.scheduled, ...topics.flatMap((topic) => [keys.topic(topic), ...groups.map((group) => keys.retry(topic, group))])];
    expect(new Set(expected).size).toBe(expected.length);
    const actual = await harness.redis().keys(`${harness.prefix}*`);
    expect(actual.sort()).toEqual(expected.filter((key) => key !== keys.scheduled || actual.includes(key)).sort());
  });
});
