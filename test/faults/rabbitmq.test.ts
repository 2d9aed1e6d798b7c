// Fault tolerance of the RabbitMQ transport (issue 9): connection cuts through a proxy in front of the
// shared RabbitMQ, crash/restart of a private second node (own name, ports, Mnesia dir; the shared
// node is never touched). See harness/suite.ts.
import { describeWithBroker, startRabbitMQ } from '@omnibus/test-support';
import { sharedBrokerEnv } from './harness/env.js';
import { profiles } from './harness/profiles.js';
import { describeFaultSuite } from './harness/suite.js';

describeWithBroker('rabbitmq', 'faults: rabbitmq', (endpoint) => {
  describeFaultSuite(profiles.rabbitmq, () => sharedBrokerEnv(endpoint.url, 5672, 'rabbitmq', startRabbitMQ));
});
