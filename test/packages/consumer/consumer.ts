// A user's project, as it would be written against the published packages: type-checked by
// tarballs.test.ts under NodeNext and bundler resolution with strict and exactOptionalPropertyTypes.
import { createBus, defineTopic, NonRetryableError, type Bus, type Message } from '@omnibus/core';
import { createTransport } from '@omnibus/redis';
import { z } from 'zod';

const OrderPlaced = defineTopic(
  'orders.placed',
  z.object({ orderId: z.string(), total: z.number().nonnegative(), note: z.string().optional() }),
);

export async function consumer(url: string): Promise<Bus> {
  const bus = await createBus({ url, source: 'consumer-project' });
  await bus.subscribe(
    OrderPlaced,
    async (msg: Message<{ orderId: string; total: number; note?: string | undefined }>) => {
      if (msg.body.total > 1_000) throw new NonRetryableError('too large');
    },
    { group: 'billing', concurrency: 4, retry: { maxAttempts: 3 } },
  );
  await bus.publish(OrderPlaced, { orderId: 'o-1', total: 3 }, { key: 'o-1' });
  // @ts-expect-error: total must be a number
  await bus.publish(OrderPlaced, { orderId: 'o-2', total: '3' });
  return bus;
}

export const transport = createTransport({ url: 'redis://127.0.0.1:6379', options: { prefix: 'consumer' }, logger: console });
