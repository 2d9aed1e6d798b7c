import { afterAll, afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, DEAD_LETTER_GROUP, DeadLetterHeaders, deadLetterTopicOf, defineTopic, handlerSpy, type Bus } from '@omnibus/core';
import { cleanUpKafka, describeWithBroker, recordingLogger } from '@omnibus/test-support';
import { commitsOf, isCommit, makeTransport, testPrefix, unique } from './helpers.js';

const prefix = testPrefix('poison');
const Job = z.object({ n: z.number() });

describeWithBroker('kafka', 'kafka transport: poison messages', (endpoint) => {
  const buses: Bus[] = [];
  afterEach(async () => {
    await Promise.allSettled(buses.splice(0).map((bus) => bus.close({ timeoutMs: 2_000 })));
  });
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });

  it('dead-letters a poison message while its partition keeps flowing', async () => {
    const logger = recordingLogger();
    // One partition: the poison message and the healthy ones share it.
    const bus = await createBus({ transport: makeTransport(endpoint.url, prefix, { partitions: 1 }, logger) });
    buses.push(bus);
    const topic = defineTopic(unique('jobs'), Job);
    const dead = handlerSpy<Uint8Array>();
    await bus.subscribe(deadLetterTopicOf(topic), dead.handler, { group: DEAD_LETTER_GROUP });
    const spy = handlerSpy<{ n: number }>(async (msg) => {
      if (msg.body.n === 0) throw new Error('poison');
    });
    await bus.subscribe(topic, spy.handler, { group: 'workers', concurrency: 2, retry: { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 300, jitter: false } } });

    const [poisonId, ...healthy] = await bus.publishBatch(
      topic,
      Array.from({ length: 21 }, (_, n) => ({ body: { n }, key: n === 0 ? 'same' : `k${n}` })),
    );
    const letter = await dead.waitForMessageWithId(poisonId as string, { timeoutMs: 20_000 });
    expect(letter.message.envelope[DeadLetterHeaders.attempts]).toBe('3');
    expect(spy.calls.filter((c) => c.message.id === poisonId).map((c) => c.attempt)).toEqual([1, 2, 3]);

    // Every healthy message was handled before the poison one ran out of attempts.
    const handledAt = new Map(spy.calls.filter((c) => c.outcome === 'ack').map((c) => [c.message.id, c.at]));
    expect(healthy.filter((id) => !handledAt.has(id))).toEqual([]);
    expect(Math.max(...healthy.map((id) => handledAt.get(id) ?? Infinity))).toBeLessThan(letter.at);
    // The main topic's offset moved past all 21 messages (the retries live in the retry topic).
    const mainTopic = `${prefix}${topic.name}`;
    await logger.waitFor((e) => isCommit(e) && commitsOf(e).some((c) => c.topic === mainTopic && c.offset === '21'), 20_000, { what: 'the main-topic commit past the batch' });
  });
});
