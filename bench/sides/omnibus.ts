// The Omnibus side: the same work as the raw side, through the public API only
// (createBus + defineTopic + publishBatch/publish + subscribe), as an application would write it.
import { createBus, defineTopic, type Bus, type Topic } from '@omnibus/core';
import { BenchBodySchema, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

export function omnibusSide(url: string, options: Record<string, unknown> = {}): Side {
  let bus: Bus | undefined;
  const topics = new Map<string, Topic<BenchBody>>();
  const topicOf = (name: string) => {
    let topic = topics.get(name);
    if (!topic) topics.set(name, (topic = defineTopic(name, BenchBodySchema)));
    return topic;
  };
  const open = () => {
    if (!bus) throw new Error('omnibus side: connect() first');
    return bus;
  };

  return {
    kind: 'omnibus',
    async connect() {
      bus ??= await createBus({ url, options });
    },
    async prepare(target: Target) {
      await open().ensureGroup(target.topic, target.group);
    },
    async publisher(target: Target): Promise<Publisher> {
      const b = open();
      const topic = topicOf(target.topic);
      return {
        sendBatch: async (bodies) => {
          await b.publishBatch(topic, bodies.map((body) => ({ body })));
        },
        sendOne: async (body) => {
          await b.publish(topic, body);
        },
      };
    },
    async consume(target: Target, concurrency: number, onBody: (body: BenchBody) => void): Promise<Consumer> {
      const subscription = await open().subscribe(topicOf(target.topic), (message) => onBody(message.body), { group: target.group, concurrency });
      return { close: () => subscription.close() };
    },
    async close() {
      await bus?.close();
      bus = undefined;
    },
  };
}
