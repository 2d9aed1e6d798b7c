// Fault tolerance of the AMQP 1.0 transport on ActiveMQ Artemis (issue 20): connection cuts through a
// proxy in front of the shared Artemis (scripts/brokers/artemis.mjs), crash/restart of a private
// Artemis instance of its own (test/support/src/private-brokers/artemis.ts). See harness/suite.ts.
import { describeWithBroker, startArtemis } from '@omnibus/test-support';
import { sharedBrokerEnv } from './harness/env.js';
import { profiles } from './harness/profiles.js';
import { describeFaultSuite } from './harness/suite.js';

describeWithBroker('amqp10', 'faults: amqp10', (endpoint) => {
  describeFaultSuite(profiles.amqp10, () => sharedBrokerEnv(endpoint.url, 5673, 'amqp10', startArtemis));
});
