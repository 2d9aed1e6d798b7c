import { describe, expect, it } from 'vitest';
import { BROKER_KINDS, describeWithBroker } from '@omnibus/test-support';
import { runOrderFlow } from '../../examples/src/order-flow.js';
import { sqsUrlWithCredentials } from './sqs-url.js';

/** The example runs unchanged on every broker: only the URL differs. */
async function expectOrderFlow(url: string): Promise<void> {
  const lines: string[] = [];
  const result = await runOrderFlow(url, (line) => lines.push(line));
  expect(result.delivered).toHaveLength(2);
  expect(result.deadLettered).toHaveLength(1);
  expect(lines.some((l) => /-2 attempt 2/.test(l))).toBe(true);
  expect(lines.some((l) => l.includes('max-attempts after 3 attempt(s)'))).toBe(true);
  expect(lines.join('\n')).not.toMatch(/guest:guest@|artemis:artemis@/);
  const secret = decodeURIComponent(new URL(url).password);
  if (secret.length > 0 && secret !== decodeURIComponent(new URL(url).username)) expect(lines.join('\n')).not.toContain(secret);
}

describe('example: order flow', () => {
  it('retries the flaky email and dead-letters the poison order on memory://', async () => {
    await expectOrderFlow('memory://');
  });
});

for (const kind of BROKER_KINDS) {
  describeWithBroker(kind, `example: order flow on ${kind}`, (endpoint) => {
    it('runs unchanged', async () => {
      await expectOrderFlow(endpoint.url);
    }, 120_000);
  });
}

// Artemis (AMQP 1.0) and ElasticMQ (SQS): the same example, by URL; SQS with its credentials in it.
describeWithBroker('amqp10', 'example: order flow on amqp10', (endpoint) => {
  it('runs unchanged', async () => {
    await expectOrderFlow(endpoint.url);
  }, 120_000);
});

describeWithBroker('sqs', 'example: order flow on sqs', (endpoint) => {
  it('runs unchanged, the credentials in the URL', async () => {
    await expectOrderFlow(sqsUrlWithCredentials(endpoint.url));
  }, 120_000);
});
