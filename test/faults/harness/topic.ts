// The message body every fault scenario publishes: a sequence number, and a flag for the poison message.
import { z } from 'zod';

export const FaultBody = z.object({ n: z.number().int(), poison: z.boolean().optional() });
export type FaultBody = z.infer<typeof FaultBody>;

/** The transports the fault suite covers (package `@omnibus/<name>`). */
export type FaultTransportName = 'rabbitmq' | 'kafka' | 'redis' | 'nats' | 'amqp10' | 'sqs';
