// Type-level tests of the transport factories, checked by `npm run typecheck` (test/support's
// tsconfig includes every .ts file under test/). Nothing here runs: each `@ts-expect-error` fails
// the typecheck if the line below it stops being an error, so a misspelled option staying a
// TypeScript error is what is tested. The run-time side is in factories.test.ts.
import { createBus, memory, MemoryBroker, type TransportFactory } from '@omnibus/core';
import { kafka } from '@omnibus/kafka';
import { nats } from '@omnibus/nats';
import { rabbitmq } from '@omnibus/rabbitmq';
import { redis } from '@omnibus/redis';

export async function typedFactories(): Promise<void> {
  // Well-typed configurations.
  const factories: TransportFactory[] = [
    memory(),
    memory({ broker: new MemoryBroker() }),
    rabbitmq({ url: 'amqp://guest:guest@localhost:5672', prefetch: 10, queueType: 'quorum' }),
    kafka({ url: 'kafka://localhost:9092', partitions: 3, sasl: { mechanism: 'plain', username: 'u', password: 'p' } }),
    redis({ url: 'redis://localhost:6379', claimIdleMs: 5_000, trim: false }),
    nats({ url: 'nats://localhost:4222', ackWaitMs: 10_000, storage: 'memory' }),
  ];
  await createBus(factories[0]!);
  await createBus({ transport: redis({ url: 'redis://localhost:6379' }), drainTimeoutMs: 1_000 });

  // Misspelled options.
  // @ts-expect-error prefecth is not a RabbitMQ option
  rabbitmq({ url: 'amqp://localhost', prefecth: 10 });
  // @ts-expect-error partitons is not a Kafka option
  kafka({ url: 'kafka://localhost:9092', partitons: 3 });
  // @ts-expect-error claimIdleMss is not a Redis option
  redis({ url: 'redis://localhost:6379', claimIdleMss: 5_000 });
  // @ts-expect-error ackWaitMss is not a NATS option
  nats({ url: 'nats://localhost:4222', ackWaitMss: 10_000 });
  // @ts-expect-error brokr is not a memory option
  memory({ brokr: new MemoryBroker() });

  // Wrong value types and a missing URL.
  // @ts-expect-error claimIdleMs is a number
  redis({ url: 'redis://localhost:6379', claimIdleMs: '5s' });
  // @ts-expect-error queueType is 'classic' or 'quorum'
  rabbitmq({ url: 'amqp://localhost', queueType: 'stream' });
  // @ts-expect-error the URL is required
  nats({ ackWaitMs: 10_000 });
}
