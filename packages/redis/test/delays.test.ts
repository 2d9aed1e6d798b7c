import { afterEach, beforeEach, expect, it } from 'vitest';
import { ConfigError } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { MAX_DELAY_MS } from '../src/delay.js';
import { Collector } from './helpers/collector.js';
import { eventually } from './helpers/wait.js';
import { Harness, message } from './helpers/transports.js';

/** Delays no schedule can honour: each would park a message for ever or mean "at once" in disguise. */
const BAD_DELAYS: unknown[] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, -1, MAX_DELAY_MS + 1, 1e300, '5'];

describeWithBroker('redis', 'redis transport: delays given to nack and publish', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('refuses a nack delay it cannot schedule with a ConfigError, and the delivery can still be nacked', async () => {
    const transport = harness.transport();
    const refusals: unknown[] = [];
    const collector = new Collector(async (delivery) => {
      if (delivery.attempt > 1) return delivery.ack();
      for (const delayMs of BAD_DELAYS) refusals.push(await delivery.nack({ delayMs: delayMs as number }).then(() => 'accepted', (error: unknown) => error));
      // Still unsettled: a valid nack redelivers it.
      await delivery.nack({ delayMs: 50 });
    });
    await transport.subscribe(collector.params('bad-delays', 'g'));
    await transport.publish([message('bad-delays', 'm')]);
    const again = await collector.waitFor((d) => d.message.id === 'm' && d.attempt === 2, 'the redelivery after the valid nack');
    expect(again.attempt).toBe(2);
    expect(refusals).toHaveLength(BAD_DELAYS.length);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(ConfigError);
      expect((refusal as ConfigError).field).toBe('nack delayMs');
    }
    expect(await harness.redis().zcard(harness.keys.scheduled)).toBe(0);
  });

  it('schedules the longest accepted nack delay at a finite due time', async () => {
    const transport = harness.transport();
    const collector = new Collector((delivery) => delivery.nack({ delayMs: MAX_DELAY_MS }));
    await transport.subscribe(collector.params('long-delay', 'g'));
    await transport.publish([message('long-delay', 'm')]);
    await collector.waitFor((d) => d.message.id === 'm', 'the first delivery');
    const redis = harness.redis();
    await eventually(async () => (await redis.zcard(harness.keys.scheduled)) === 1, { what: 'the nacked message in the scheduled set' });
    const scores = await redis.zrange(harness.keys.scheduled, 0, -1, 'WITHSCORES');
    const due = Number(scores[1]);
    expect(Number.isSafeInteger(due)).toBe(true);
    expect(due - Date.now()).toBeGreaterThan(MAX_DELAY_MS - 60_000);
  });

  it('refuses a batch with a publish delay it cannot schedule, storing none of it', async () => {
    const transport = harness.transport();
    const redis = harness.redis();
    for (const delayMs of BAD_DELAYS) {
      const error = await transport.publish([message('bad-publish', 'ok'), message('bad-publish', 'bad', { delayMs: delayMs as number })]).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, `delayMs ${String(delayMs)}`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe('messages[1].delayMs');
    }
    expect(await redis.exists(harness.keys.topic('bad-publish'))).toBe(0);
    expect(await redis.zcard(harness.keys.scheduled)).toBe(0);
  });
});
