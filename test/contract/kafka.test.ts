import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/kafka';
import { cleanUpKafka, describeWithBroker, fastKafkaOptions } from '@omnibus/test-support';

// Every topic and group of this run starts with the prefix, so they can be deleted afterwards.
const prefix = `omnibus-ct-${randomBytes(3).toString('hex')}.`;

describeWithBroker('kafka', 'kafka transport', (endpoint) => {
  describeTransportContract('kafka', () =>
    createTransport({
      url: endpoint.url,
      logger: silentLogger,
      // Fast joins and rebalances: the suite opens many short-lived subscriptions.
      options: { prefix, ...fastKafkaOptions },
    }),
  );

  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });
});
