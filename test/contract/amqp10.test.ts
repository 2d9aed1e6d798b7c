import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/amqp10';
import { describeWithBroker } from '@omnibus/test-support';
import { cleanupPrefix } from '../../packages/amqp10/test/helpers.js';

describeWithBroker('amqp10', 'amqp10 transport (ActiveMQ Artemis)', (endpoint) => {
  // One prefix per run: this run's addresses and queues never meet another run's on the shared broker.
  const prefix = `a10-ct-${randomBytes(3).toString('hex')}.`;
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });
  describeTransportContract('amqp10', () =>
    createTransport({
      url: endpoint.url,
      options: { prefix, reconnect: { initialDelayMs: 50, maxDelayMs: 1_000 } },
      logger: silentLogger,
    }),
  );
});
