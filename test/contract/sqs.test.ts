import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/sqs';
import { describeWithBroker } from '@omnibus/test-support';
import { deleteQueuesWithPrefix, testCredentials } from '../../packages/sqs/test/helpers.js';

describeWithBroker('sqs', 'sqs transport', (endpoint) => {
  // One queue-name prefix per run: this run's queues never meet another run's, and are deleted afterwards.
  const prefix = `sqs-t-${randomBytes(3).toString('hex')}-`;
  afterAll(async () => {
    await deleteQueuesWithPrefix(endpoint.url, prefix);
  });
  describeTransportContract(
    'sqs',
    () =>
      createTransport({
        url: endpoint.url,
        // Short polls and leases keep the suite fast; ElasticMQ lists new queues at once (no listing lag).
        options: { prefix, credentials: testCredentials, waitTimeSeconds: 1, visibilityTimeoutSeconds: 5, groupCacheMs: 100, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } },
        logger: silentLogger,
      }),
    { waitTimeoutMs: 20_000 },
  );
});
