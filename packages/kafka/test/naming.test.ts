import { describe, expect, it } from 'vitest';
import { ConfigError } from '@omnibus/core';
import { resolveConfig } from '../src/config.js';
import { createNaming, escapeName, foldTopicName } from '../src/naming.js';

// Core's rules for user names (packages/core/src/topic.ts).
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/;

/** Every topic name of up to `length` characters over a small alphabet with all the separators. */
function names(alphabet: readonly string[], length: number, valid: RegExp): string[] {
  let level = [''];
  const all: string[] = [];
  for (let i = 0; i < length; i += 1) {
    level = level.flatMap((head) => alphabet.map((char) => head + char));
    all.push(...level.filter((name) => valid.test(name)));
  }
  return all;
}

describe('kafka naming', () => {
  const naming = createNaming({ prefix: 'p.' });

  it('keeps user topics as they are and puts internal topics where no user name can go', () => {
    expect(naming.topic('orders')).toBe('p.orders');
    expect(naming.delayTopic('orders')).toBe('p._omnibus.delay.orders');
    expect(naming.retryTopic('orders', 'billing')).toBe('p._omnibus.retry.orders.billing');
    expect(naming.retryTopic('shop.orders_v2', 'bill-ing')).toBe('p._omnibus.retry.shop.orders-uv2.bill--ing');
    // The 0.1 group id: committed offsets of existing groups stay valid.
    expect(naming.groupId('orders', 'billing')).toBe('p.orders.billing');
  });

  it('never gives two names that Kafka folds together (".", "_" alike), for any topics and groups', () => {
    const topics = names(['a', '.', '_', '-'], 5, TOPIC_NAME);
    const groups = names(['a', '_', '-'], 4, GROUP_NAME);
    const seen = new Map<string, string>();
    const claim = (kafkaName: string, owner: string) => {
      const folded = foldTopicName(kafkaName);
      const other = seen.get(folded);
      if (other !== undefined && other !== owner) expect.fail(`${owner} and ${other} both map to "${folded}" (folded)`);
      seen.set(folded, owner);
    };
    for (const topic of topics) {
      // User topics that fold together are the user's (refused at creation); here each is alone.
      seen.set(foldTopicName(naming.topic(topic)), `topic ${topic}`);
    }
    for (const topic of topics) {
      claim(naming.delayTopic(topic), `delay of ${topic}`);
      for (const group of groups) claim(naming.retryTopic(topic, group), `retry of ${topic}/${group}`);
    }
    // Internal names never fold onto a user topic: they start with "_" after the prefix.
    for (const topic of topics) expect(foldTopicName(naming.delayTopic(topic)).startsWith('p__omnibus')).toBe(true);
    // One folded name per user topic class, per delay topic and per retry topic: nothing shared.
    expect(seen.size).toBe(new Set(topics.map(foldTopicName)).size + topics.length + topics.length * groups.length);
  });

  it('gives every (topic, group) its own consumer group', () => {
    const topics = names(['a', '.', '_', '-'], 5, TOPIC_NAME);
    const groups = names(['a', '_', '-'], 4, GROUP_NAME);
    const ids = new Set<string>();
    for (const topic of topics) for (const group of groups) ids.add(naming.groupId(topic, group));
    expect(ids.size).toBe(topics.length * groups.length);
  });

  it('escapes reversibly, without "_"', () => {
    for (const name of ['a_b', 'a-u', 'a--b', 'a-_', '_-_', 'x.y_z-w']) {
      expect(escapeName(name)).not.toContain('_');
      expect(escapeName(name).replace(/-(.)/g, (_m, c: string) => (c === 'u' ? '_' : c))).toBe(name);
    }
  });

  it('refuses a name over Kafka\'s 249 characters with a ConfigError naming the field, not a truncated name', () => {
    const long = createNaming({ prefix: 'tenant-a.' });
    expect(long.topic('t'.repeat(200))).toHaveLength(209);
    expect(() => long.delayTopic(`${'t'.repeat(150)}_${'t'.repeat(49)}`)).not.toThrow();
    expect(() => long.delayTopic('_'.repeat(1) + 't'.repeat(199).replaceAll('t', 't_'))).toThrow(ConfigError);
    const retry = () => long.retryTopic('t'.repeat(150), 'g'.repeat(100));
    expect(retry).toThrow(expect.objectContaining({ field: 'group', code: 'CONFIG_INVALID' }));
    expect(retry).toThrow(/over Kafka's 249/);
    expect(() => createNaming({ prefix: 'p'.repeat(100) }).topic('t'.repeat(200))).toThrow(expect.objectContaining({ field: 'topic' }));
  });

  it('keeps a caller of the transport itself out of the internal namespace', () => {
    for (const topic of ['_omnibus.delay.orders', '.x', '-x', '']) expect(() => naming.topic(topic)).toThrow(expect.objectContaining({ field: 'topic', code: 'CONFIG_INVALID' }));
  });

  it('says what to do when a 0.1 naming template is given', () => {
    for (const option of ['groupIdTemplate', 'retryTopicTemplate', 'delayTopicTemplate']) {
      expect(() => resolveConfig({ url: 'kafka://h:9092', options: { [option]: '{topic}.{group}.x' } })).toThrow(
        expect.objectContaining({ field: `options.${option}`, message: expect.stringContaining('Migrating from 0.1') }),
      );
    }
  });
});
