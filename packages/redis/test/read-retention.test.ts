// Issue 12, item 6 (redis): what a subscription keeps of the entries it read, once they are
// settled. Each XREADGROUP reply used to be kept alive until stop() by a reaction left on a
// long-lived "halted" promise (Promise.race per read): a burst of 200,000 read 1 KiB entries held
// about 430 MB after they were all acked, and the burst test went over 600 MiB. See src/halt.ts.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Signal } from '@omnibus/core';
import { describeWithBroker } from '@omnibus/test-support';
import { collectGarbage } from './helpers/gc.js';
import { Harness, message } from './helpers/transports.js';

const MESSAGES = 2_000;
const BODY_BYTES = 4_096;
const BATCH = 200;

describeWithBroker('redis', 'redis transport: what a subscription keeps of settled entries', (endpoint) => {
  let harness: Harness;
  beforeEach(() => {
    harness = new Harness(endpoint.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });

  it('keeps none of the bytes it read once the entries are acked', { timeout: 60_000 }, async () => {
    const transport = harness.transport();
    const signal = new Signal();
    // The memory each body was read into (ioredis hands out slices of its read buffers):
    // weakly held, so what the test keeps does not count.
    const readInto: WeakRef<ArrayBufferLike>[] = [];
    let acked = 0;
    const errors: Error[] = [];
    await transport.subscribe({
      topic: 'retention',
      group: 'g',
      concurrency: 8,
      onDelivery: (delivery) => {
        readInto.push(new WeakRef(delivery.message.body.buffer));
        void delivery.ack().then(() => {
          acked += 1;
          signal.notify();
        });
      },
      onError: (error) => void errors.push(error),
    });
    const body = new Uint8Array(BODY_BYTES).fill(120);
    for (let start = 0; start < MESSAGES; start += BATCH) {
      await transport.publish(Array.from({ length: BATCH }, (_, i) => message('retention', `m-${start + i}`, { body })));
    }
    await signal.until(() => acked === MESSAGES, 30_000, () => `${MESSAGES} acks (got ${acked})`);
    expect(readInto).toHaveLength(MESSAGES);

    await collectGarbage();
    const alive = new Set<ArrayBufferLike>();
    let bodiesAlive = 0;
    for (const ref of readInto) {
      const buffer = ref.deref();
      if (!buffer) continue;
      bodiesAlive += 1;
      alive.add(buffer);
    }
    const bytesAlive = [...alive].reduce((sum, buffer) => sum + buffer.byteLength, 0);
    // 8 MB were read. Before the fix all 2,000 bodies (250 read buffers, 8.4 MB) were still
    // reachable here; now none is. At most the client's current read chunk may remain.
    const kept = `${bodiesAlive} of ${MESSAGES} settled bodies still reachable, in ${alive.size} read buffers of ${bytesAlive} bytes`;
    expect(bodiesAlive, kept).toBeLessThan(MESSAGES / 20);
    expect(bytesAlive, kept).toBeLessThan(512 * 1024);
    expect(errors).toEqual([]);
  });
});
