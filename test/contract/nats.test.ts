import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/nats';
import { describeWithBroker } from '@omnibus/test-support';
import { deleteStreams, uniquePrefixes } from '../../packages/nats/test/helpers.js';

describeWithBroker('nats', 'nats transport', (endpoint) => {
  // Streams of this run only; deleted afterwards (the shared server keeps file storage).
  const prefixes = uniquePrefixes('contract');
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });
  describeTransportContract('nats', () =>
    createTransport({
      url: endpoint.url,
      options: { ...prefixes, publishTimeoutMs: 2_000, requestTimeoutMs: 3_000, closeTimeoutMs: 2_000 },
      logger: silentLogger,
    }),
  );
});
