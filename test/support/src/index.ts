export {
  BROKER_KINDS,
  brokerAddress,
  brokerEndpoint,
  configuredBroker,
  describeWithBroker,
  isCI,
  uniqueName,
  type AvailableBroker,
  type Amqp10Endpoint,
  type Amqp10Kind,
  type AvailableAmqp10,
  type AvailableSqs,
  type SqsEndpoint,
  type SqsKind,
  type AvailablePostgres,
  type BrokerEndpoint,
  type BrokerKind,
  type HostPort,
  type PostgresEndpoint,
  type PostgresKind,
  type UnavailableBroker,
  type UnavailablePostgres,
} from './brokers.js';
export { cleanUpKafka, fastKafkaOptions, kafkaAdmin } from './kafka.js';
export { freePort, freePorts } from './ports.js';
export { cleanupAll, ManagedProcess, removeTempDir, spawnManaged, tempDir, type Exit } from './processes.js';
export { KAFKA_LIBS, NATS_SERVER_BINARY, privateBrokerUnavailable, type PrivateBrokerKind } from './private-brokers/availability.js';
export { startKafka, type KafkaLaunchOptions } from './private-brokers/kafka.js';
export { startNats, type NatsLaunchOptions } from './private-brokers/nats.js';
export { PrivateBroker, type RestartTimings } from './private-brokers/private-broker.js';
export { startArtemis } from './private-brokers/artemis.js';
export { startRabbitMQ } from './private-brokers/rabbitmq.js';
export { startRedis, type RedisLaunchOptions } from './private-brokers/redis.js';
export { startElasticMQ } from './private-brokers/elasticmq.js';
export { deleteRedisPrefix } from './redis.js';
export { recordingLogger, type LogEntry, type RecordingLogger } from './recording-logger.js';
export { TcpProxy, viaProxy, type ProxyCounters, type ProxyTarget, type StallDirection } from './tcp-proxy.js';
