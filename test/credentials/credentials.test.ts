// "Passwords never appear in errors or logs", proved against every transport with hostile passwords
// (`/ @ : ? # % space`, unicode, percent signs, a long random one), written into the URL unencoded
// and percent-encoded. Each case goes through createBus with a capturing logger that records every
// level (debug included): either the bus connects (a broker without authentication may accept or
// ignore the credentials; then one message makes a round trip and the bus closes) or createBus
// rejects with a typed error. Then the whole error (message, stack, every own property, the cause
// chain) and every logged line (message and fields, errors with their stacks) are searched for
// every form of the password. With CI=true an unreachable broker fails its suite (describeWithBroker).
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createBus, defineTopic, handlerSpy, isOmnibusError, type Bus } from '@omnibus/core';
import { brokerAddress, cleanUpKafka, deleteRedisPrefix, describeWithBroker, fastKafkaOptions, recordingLogger, type AvailableBroker } from '@omnibus/test-support';
import { deleteStreams, uniquePrefixes } from '../../packages/nats/test/helpers.js';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';
import { forbiddenForms, HOSTILE_PASSWORDS, writtenForms, type WrittenPassword } from './password-forms.js';
import { scanForLeaks, scanLog, type Leak } from './leak-scan.js';

const CASES = HOSTILE_PASSWORDS.flatMap(writtenForms);
const caseName = ({ password, written }: WrittenPassword): string => `${JSON.stringify(password)} written ${written}`;

const Ping = z.object({ n: z.number() });

interface Probe {
  readonly outcome: 'connected' | 'refused';
  readonly leaks: Leak[];
  /** What failed that should not have: a refusal that is not an Omnibus error, a failed round trip. */
  readonly problems: string[];
}

/** Publish one message and receive it, so a connected bus is also exercised (and closed) with the password. */
async function roundTrip(bus: Bus, tag: string): Promise<void> {
  const topic = defineTopic(`cred-${tag}`, Ping);
  const spy = handlerSpy<z.infer<typeof Ping>>();
  const subscription = await bus.subscribe(topic, spy.handler, { group: 'g' });
  await bus.publish(topic, { n: 1 });
  await spy.waitForCount(1, { timeoutMs: 20_000 });
  await subscription.close();
}

async function probe(url: string, options: Record<string, unknown>, forms: readonly string[]): Promise<Probe> {
  const logger = recordingLogger();
  const thrown: unknown[] = [];
  const problems: string[] = [];
  let outcome: Probe['outcome'] = 'refused';
  try {
    const bus = await createBus({ url, options, logger });
    outcome = 'connected';
    try {
      await roundTrip(bus, randomBytes(4).toString('hex'));
    } catch (error) {
      thrown.push(error);
      problems.push(`the round trip failed: ${String(error)}`);
    } finally {
      await bus.close().catch((error: unknown) => {
        thrown.push(error);
        problems.push(`close failed: ${String(error)}`);
      });
    }
  } catch (error) {
    thrown.push(error);
    if (!isOmnibusError(error)) problems.push(`createBus rejected with an untyped error: ${String(error)}`);
  }
  const leaks = [...thrown.flatMap((error, index) => scanForLeaks(error, `error[${index}]`, forms)), ...scanLog(logger.entries, forms)];
  return { outcome, leaks, problems };
}

/** Every case of the corpus against one transport: no form of the password anywhere. */
function describeCorpus(urlFor: (inUrl: string) => string, options: () => Record<string, unknown>): void {
  it.each(CASES)('password %#: $written', async (written) => {
    const result = await probe(urlFor(written.inUrl), options(), forbiddenForms(written));
    expect(result.problems, caseName(written)).toEqual([]);
    expect(result.leaks, `${caseName(written)} (${result.outcome})`).toEqual([]);
  });
}

describe('credentials on memory://', () => {
  describeCorpus((inUrl) => `memory://user:${inUrl}@localhost`, () => ({}));
});

describeWithBroker('rabbitmq', 'credentials on amqp://', (endpoint: AvailableBroker) => {
  const { host, port } = brokerAddress(endpoint.url, 5672);
  const prefix = `cred-${randomBytes(3).toString('hex')}.`;
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });
  describeCorpus((inUrl) => `amqp://guest:${inUrl}@${host}:${port}`, () => ({ prefix, connectTimeoutMs: 3_000 }));
});

describeWithBroker('kafka', 'credentials on kafka://', (endpoint: AvailableBroker) => {
  const prefix = `omnibus-cred-${randomBytes(3).toString('hex')}.`;
  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });
  describeCorpus(
    (inUrl) => `kafka://omnibus:${inUrl}@${endpoint.brokers.join(',')}`,
    () => ({ prefix, ...fastKafkaOptions, retries: 0, brokerConnectTimeoutMs: 1_000, connectTimeoutMs: 5_000 }),
  );
});

describeWithBroker('redis', 'credentials on redis://', (endpoint: AvailableBroker) => {
  const { host, port } = brokerAddress(endpoint.url, 6379);
  const prefix = `omnibus-cred-${randomBytes(3).toString('hex')}:`;
  afterAll(async () => {
    await deleteRedisPrefix(endpoint.url, prefix);
  });
  describeCorpus((inUrl) => `redis://default:${inUrl}@${host}:${port}`, () => ({ prefix, connectTimeoutMs: 3_000, blockMs: 100 }));
});

describeWithBroker('nats', 'credentials on nats://', (endpoint: AvailableBroker) => {
  const { host, port } = brokerAddress(endpoint.url, 4222);
  const prefixes = uniquePrefixes('cred');
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });
  describeCorpus((inUrl) => `nats://omnibus:${inUrl}@${host}:${port}`, () => ({ ...prefixes, connectTimeoutMs: 3_000 }));
});
