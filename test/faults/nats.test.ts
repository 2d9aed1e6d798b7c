// Fault tolerance of the NATS JetStream transport (issue 9): connection cuts through a proxy in front
// of the shared nats-server, crash/restart of a private nats-server (-js, file storage). See harness/suite.ts.
import { describeWithBroker, startNats } from '@omnibus/test-support';
import { sharedBrokerEnv } from './harness/env.js';
import { profiles } from './harness/profiles.js';
import { describeFaultSuite } from './harness/suite.js';

describeWithBroker('nats', 'faults: nats', (endpoint) => {
  describeFaultSuite(profiles.nats, () => sharedBrokerEnv(endpoint.url, 4222, 'nats', startNats));
});
