import { z } from 'zod';
import { defineTopic } from '@omnibus/core';

/** The one topic of the order flow: typed by its zod schema on both sides. */
export const OrderPlaced = defineTopic(
  'orders.placed',
  z.object({
    orderId: z.string(),
    email: z.string(),
    total: z.number().nonnegative(),
  }),
);
