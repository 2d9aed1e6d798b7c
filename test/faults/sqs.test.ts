// Fault tolerance of the SQS transport: connection cuts through a proxy in front of the shared
// ElasticMQ, crash/restart of a private ElasticMQ with its H2 message storage (WRITE_DELAY=0, so a
// SIGKILL keeps what it acknowledged). See harness/suite.ts. 2,000 messages in the cut scenario
// (not 10,000) to keep the SQS suites within their CI budget.
import { describeWithBroker, startElasticMQ } from '@omnibus/test-support';
import { sharedBrokerEnv } from './harness/env.js';
import { profiles } from './harness/profiles.js';
import { describeFaultSuite } from './harness/suite.js';

describeWithBroker('sqs', 'faults: sqs', (endpoint) => {
  describeFaultSuite(profiles.sqs, () => sharedBrokerEnv(endpoint.url, 9324, 'sqs', startElasticMQ), { cutMessages: 2_000 });
});
