// Whether a private broker of each kind can be started on this machine, and where its binaries are.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type PrivateBrokerKind = 'redis' | 'nats' | 'kafka' | 'rabbitmq' | 'amqp10' | 'sqs';

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');

/** Kafka's jars, fetched by `npm run brokers:up`. */
export const KAFKA_LIBS = join(ROOT, '.cache', 'kafka', 'libs');

/** $NATS_SERVER_BIN, else the distribution package's binary, else `nats-server` on the PATH. */
export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

/** The ActiveMQ Artemis distribution scripts/brokers/artemis.mjs unpacks (its ARTEMIS_VERSION). */
export const ARTEMIS_HOME = join(ROOT, '.cache', 'brokers', 'artemis', 'apache-artemis-2.40.0');

/** ElasticMQ's jars, fetched by `npm run brokers:up -- elasticmq` (scripts/brokers/elasticmq.mjs). */
export const ELASTICMQ_LIBS = join(ROOT, '.cache', 'brokers', 'elasticmq', 'libs');

const onPath = (command: string): boolean => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

/** Why a private broker of `kind` cannot be started here, or undefined when it can. */
export function privateBrokerUnavailable(kind: PrivateBrokerKind): string | undefined {
  switch (kind) {
    case 'redis':
      return onPath('redis-server') ? undefined : 'redis-server is not installed';
    case 'nats':
      return existsSync(NATS_SERVER_BINARY) || onPath(NATS_SERVER_BINARY) ? undefined : `${NATS_SERVER_BINARY} is not installed`;
    case 'kafka':
      if (!onPath('java')) return 'java is not installed';
      return existsSync(join(KAFKA_LIBS, '.resolved')) ? undefined : `no Kafka jars in ${KAFKA_LIBS} (\`npm run brokers:up\` resolves them)`;
    case 'rabbitmq':
      return existsSync(RABBITMQ_SERVER) ? undefined : `${RABBITMQ_SERVER} not found (the rabbitmq-server package is not installed here)`;
    case 'amqp10':
      if (!onPath('java')) return 'java is not installed (ActiveMQ Artemis needs Java 17)';
      return existsSync(join(ARTEMIS_HOME, 'bin', 'artemis')) ? undefined : `no ActiveMQ Artemis in ${ARTEMIS_HOME} (\`npm run brokers:up -- artemis\` fetches it)`;
    case 'sqs':
      if (!onPath('java')) return 'java is not installed (ElasticMQ runs on the JVM)';
      return existsSync(join(ELASTICMQ_LIBS, '.resolved')) ? undefined : `no ElasticMQ jars in ${ELASTICMQ_LIBS} (\`npm run brokers:up -- elasticmq\` resolves them)`;
  }
}
