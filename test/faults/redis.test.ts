// Fault tolerance of the Redis transport (issue 9): connection cuts through a proxy in front of the
// shared Redis, crash/restart of a private redis-server (AOF, fsync always). See harness/suite.ts.
import { describeWithBroker, startRedis } from '@omnibus/test-support';
import { sharedBrokerEnv } from './harness/env.js';
import { profiles } from './harness/profiles.js';
import { describeFaultSuite } from './harness/suite.js';

describeWithBroker('redis', 'faults: redis', (endpoint) => {
  describeFaultSuite(profiles.redis, () => sharedBrokerEnv(endpoint.url, 6379, 'redis', startRedis));
});
