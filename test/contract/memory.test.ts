import { createMemoryBroker, createMemoryTransport } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';

// One broker per suite, shared by every transport (bus) a test opens, as separate
// processes would share one RabbitMQ.
const broker = createMemoryBroker();
describeTransportContract('memory', () => createMemoryTransport({ options: { broker } }));
