// Fault tolerance of the Kafka transport (issue 9), on a private single-node KRaft Kafka (jars from
// .cache/kafka/libs) that advertises a proxy's port, so every client connection goes through the
// proxy; the same broker is crashed and restarted. See harness/suite.ts and harness/env.ts.
import { privateBrokerUnavailable } from '@omnibus/test-support';
import { describeIf, privateKafkaEnv } from './harness/env.js';
import { profiles } from './harness/profiles.js';
import { describeFaultSuite } from './harness/suite.js';

const unavailable = privateBrokerUnavailable('kafka');
describeIf(!unavailable, `cannot start a private Kafka: ${unavailable}`, 'faults: kafka', () => {
  describeFaultSuite(profiles.kafka, privateKafkaEnv);
});
