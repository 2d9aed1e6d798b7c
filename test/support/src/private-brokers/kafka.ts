// A private single-node KRaft Kafka (see private-broker.ts).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../ports.js';
import { removeTempDir, spawnManaged, tempDir } from '../processes.js';
import { KAFKA_LIBS, privateBrokerUnavailable } from './availability.js';
import { PrivateBroker, startOrClose, type LaunchSpec } from './private-broker.js';
import { kafkaReady } from './probes.js';

export interface KafkaLaunchOptions {
  /**
   * The port clients are told to use (advertised listener). Put a TcpProxy there forwarding to the
   * broker's `port`: Kafka clients connect to the advertised address after bootstrap, so this is
   * the only way every client connection goes through the proxy.
   */
  readonly advertisedPort: number;
  readonly heap?: string;
}

/** Kafka's Uuid string form: 16 random bytes, base64url without padding, not starting with '-'. */
function kafkaUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * A single-node KRaft Kafka from the jars in .cache/kafka/libs (fetched by `npm run brokers:up`),
 * formatted with kafka.tools.StorageTool into a temporary dir, small heap.
 */
export async function startKafka(options: KafkaLaunchOptions): Promise<PrivateBroker> {
  const unavailable = privateBrokerUnavailable('kafka');
  if (unavailable) throw new Error(unavailable);
  const [port, controllerPort] = (await freePorts(2)) as [number, number];
  const dir = tempDir('kafka');
  const dataDir = join(dir, 'data');
  const serverProperties = join(dir, 'server.properties');
  const log4jProperties = join(dir, 'log4j.properties');
  writeFileSync(
    serverProperties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${options.advertisedPort}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=1',
      'auto.create.topics.enable=true',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'group.initial.rebalance.delay.ms=0',
      // Lets tests use short consumer session timeouts, so a killed member is noticed quickly.
      'group.min.session.timeout.ms=1000',
      'num.network.threads=2',
      'num.io.threads=2',
      'num.recovery.threads.per.data.dir=1',
      'background.threads=2',
      // After a crash the restarted node waits for its old registration to expire: keep that short.
      'broker.session.timeout.ms=2000',
      'broker.heartbeat.interval.ms=500',
      'log.retention.hours=1',
      '',
    ].join('\n'),
  );
  writeFileSync(
    log4jProperties,
    [
      'log4j.rootLogger=WARN, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      'log4j.logger.kafka.server.KafkaRaftServer=INFO',
      'log4j.logger.org.apache.kafka.clients.NetworkClient=ERROR',
      '',
    ].join('\n'),
  );
  const jvm = [
    `-Xms${options.heap ?? '256m'}`,
    `-Xmx${options.heap ?? '256m'}`,
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jProperties}`,
    `-Dkafka.logs.dir=${dir}`,
    '-cp',
    `${KAFKA_LIBS}/*`,
  ];
  try {
    const format = await spawnManaged(`kafka StorageTool format (${dir})`, 'java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', kafkaUuid(), '-c', serverProperties], { cwd: dir });
    const exit = await format.exited;
    if (exit.code !== 0) throw new Error(`kafka.tools.StorageTool format failed (${JSON.stringify(exit)}):\n${format.output(20)}`);
  } catch (error) {
    removeTempDir(dir);
    throw error;
  }
  const spec: LaunchSpec = {
    name: `kafka :${port} (advertised :${options.advertisedPort})`,
    command: 'java',
    args: [...jvm, 'kafka.Kafka', serverProperties],
    cwd: dir,
    readyLine: /Kafka Server started/,
    probe: () => kafkaReady(port),
    startTimeoutMs: 120_000,
  };
  const broker = new PrivateBroker('kafka', `kafka://127.0.0.1:${options.advertisedPort}`, port, dir, spec);
  await startOrClose(broker);
  return broker;
}
