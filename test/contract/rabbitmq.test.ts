import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/rabbitmq';
import { describeWithBroker } from '@omnibus/test-support';
import { cleanupPrefix } from '../../packages/rabbitmq/test/helpers.js';

describeWithBroker('rabbitmq', 'rabbitmq transport', (endpoint) => {
  // One prefix per run: this run's exchanges and queues never meet another run's, and are
  // deleted afterwards (the broker is shared).
  const prefix = `ct-${randomBytes(3).toString('hex')}.`;
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });
  describeTransportContract('rabbitmq', () =>
    createTransport({
      url: endpoint.url,
      options: { prefix, connectionName: 'omnibus-contract-tests', reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 } },
      logger: silentLogger,
    }),
  );
});
