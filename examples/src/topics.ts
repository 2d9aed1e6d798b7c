import { z } from 'zod';
import { defineTopic } from '@omnibus/core';

/** An order as the producer publishes it and the workers receive it. */
export const OrderBody = z.object({
  orderId: z.string(),
  email: z.string(),
  total: z.number().nonnegative(),
});

/** The one topic of the order flow: typed by its zod schema on both sides. */
export const OrderPlaced = defineTopic('orders.placed', OrderBody);
