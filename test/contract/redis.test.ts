import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/redis';
import { deleteRedisPrefix, describeWithBroker, uniqueName } from '@omnibus/test-support';

describeWithBroker('redis', 'redis transport', (endpoint) => {
  // One key prefix per run: runs never see each other's streams or scheduled entries.
  const prefix = `${uniqueName('omnibus-contract')}:`;
  describeTransportContract('redis', () =>
    createTransport({
      url: endpoint.url,
      // Short block and scheduler polls keep the suite fast; claims are not exercised by it.
      options: { prefix, blockMs: 100, claimIdleMs: 2_000, schedulerIntervalMs: 50 },
      logger: silentLogger,
    }),
  );

  afterAll(async () => {
    // Leave the shared Redis as it was: delete this run's keys.
    await deleteRedisPrefix(endpoint.url, prefix);
  });
});
