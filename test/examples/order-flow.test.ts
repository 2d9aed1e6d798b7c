import { describe, expect, it } from 'vitest';
import { BROKER_KINDS, describeWithBroker } from '@omnibus/test-support';
import { runOrderFlow } from '../../examples/src/order-flow.js';

/** The example runs unchanged on every broker: only the URL differs. */
async function expectOrderFlow(url: string): Promise<void> {
  const lines: string[] = [];
  const result = await runOrderFlow(url, (line) => lines.push(line));
  expect(result.delivered).toHaveLength(2);
  expect(result.deadLettered).toHaveLength(1);
  expect(lines.some((l) => /-2 attempt 2/.test(l))).toBe(true);
  expect(lines.some((l) => l.includes('max-attempts after 3 attempt(s)'))).toBe(true);
  expect(lines.join('\n')).not.toMatch(/guest:guest@/);
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
