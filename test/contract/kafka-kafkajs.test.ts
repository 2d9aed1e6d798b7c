import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { delayedCases, describeTransportContract, groupCases, publishCases, retryCases } from '@omnibus/contract-tests';
import { createTransport } from '@omnibus/kafka';
import { cleanUpKafka, describeWithBroker, fastKafkaOptions } from '@omnibus/test-support';

// The kafkajs driver (options.driver 'kafkajs', kept for one version) on a smoke set of the
// contract: publish, groups, retries and delays, which go through every driver method a
// subscription uses. The whole suite on it: KAFKA_DRIVER=kafkajs npx vitest run test/contract/kafka.test.ts
const prefix = `pk-cj-${randomBytes(3).toString('hex')}.`;

describeWithBroker('kafka', 'kafka transport (kafkajs)', (endpoint) => {
  describeTransportContract(
    'kafka (kafkajs)',
    () => createTransport({ url: endpoint.url, logger: silentLogger, options: { prefix, ...fastKafkaOptions, driver: 'kafkajs' } }),
    { cases: { 'publish and receive': publishCases, 'groups and durability': groupCases, 'retries and dead letters': retryCases, 'delayed publish': delayedCases } },
  );

  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });
});
