import { randomBytes } from 'node:crypto';
import { afterAll } from 'vitest';
import { silentLogger } from '@omnibus/core';
import { describeTransportContract } from '@omnibus/contract-tests';
import { createTransport, type KafkaDriverName } from '@omnibus/kafka';
import { cleanUpKafka, describeWithBroker, fastKafkaOptions } from '@omnibus/test-support';

// The whole suite on the default driver (@platformatic/kafka). KAFKA_DRIVER=kafkajs runs it on
// the other one; CI runs a smaller set on kafkajs (kafka-kafkajs.test.ts).
// Any other value is a ConfigError naming options.driver.
const driver = (process.env.KAFKA_DRIVER || 'platformatic') as KafkaDriverName;

// Every topic and group of this run starts with the prefix, so they can be deleted afterwards.
const prefix = `pk-ct-${randomBytes(3).toString('hex')}.`;

describeWithBroker('kafka', `kafka transport (${driver})`, (endpoint) => {
  describeTransportContract(`kafka (${driver})`, () =>
    createTransport({
      url: endpoint.url,
      logger: silentLogger,
      // Fast joins and rebalances: the suite opens many short-lived subscriptions.
      options: { prefix, ...fastKafkaOptions, driver },
    }),
  );

  afterAll(async () => {
    await cleanUpKafka(endpoint.brokers, prefix);
  });
});
