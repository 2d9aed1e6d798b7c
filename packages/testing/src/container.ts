// Starting a broker in a container with testcontainers (an optional peer dependency, imported only
// here and only when this source is tried). Each kind runs the image in BROKER_IMAGES, waits for
// the image's own "ready" log line, then for the kind's protocol probe on the mapped port.
import type * as TestcontainersModule from 'testcontainers';
import { BROKER_IMAGES, brokerUrl, type BrokerKind } from './kinds.js';
import { freePort } from './local.js';
import { probeBroker, waitUntilReady } from './probes.js';

export interface ContainerContext {
  readonly timeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly image: string | undefined;
  readonly log: (line: string) => void;
}

export interface ContainerBroker {
  readonly host: string;
  readonly port: number;
  readonly detail: string;
  readonly stop: () => Promise<void>;
}

/** Thrown when the container source is not possible or failed; `message` says why. */
export class ContainerStartError extends Error {}

type Testcontainers = typeof TestcontainersModule;

// A variable specifier: bundlers and vite's import analysis leave it alone, so a project without
// testcontainers installed still loads this package.
const TESTCONTAINERS = 'testcontainers';

async function loadTestcontainers(): Promise<Testcontainers> {
  try {
    return (await import(TESTCONTAINERS)) as Testcontainers;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new ContainerStartError('testcontainers is not installed (npm install --save-dev testcontainers@11)');
    }
    throw new ContainerStartError(`testcontainers could not be loaded: ${(error as Error).message}`);
  }
}

/** Start a `kind` container, or throw a ContainerStartError saying why not. */
export async function startContainer(kind: BrokerKind, context: ContainerContext): Promise<ContainerBroker> {
  const tc = await loadTestcontainers();
  let host: string;
  try {
    host = (await tc.getContainerRuntimeClient()).info.containerRuntime.host;
  } catch (error) {
    throw new ContainerStartError(`no Docker engine answers (testcontainers: ${(error as Error).message}); start Docker (or Podman, Colima...) or set DOCKER_HOST`);
  }
  const { port: containerPort } = BROKER_IMAGES[kind];
  const image = context.image ?? BROKER_IMAGES[kind].image;
  let container = new tc.GenericContainer(image).withStartupTimeout(context.timeoutMs).withLabels({ 'org.omnibus.testing': kind });
  // Kafka tells clients where to reconnect (advertised.listeners), so the port it listens on in the
  // container is the host port: the same number on both sides.
  let fixedPort: number | undefined;
  switch (kind) {
    case 'rabbitmq':
      container = container.withExposedPorts(containerPort).withWaitStrategy(tc.Wait.forLogMessage(/Server startup complete/));
      break;
    case 'kafka': {
      fixedPort = await freePort();
      container = container
        .withExposedPorts({ container: fixedPort, host: fixedPort })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_LISTENERS: `PLAINTEXT://:${fixedPort},CONTROLLER://localhost:9093`,
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${fixedPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
          KAFKA_NUM_PARTITIONS: '1',
          KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
        })
        .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/));
      break;
    }
    case 'redis':
      container = container.withExposedPorts(containerPort).withCommand(['redis-server', '--save', '', '--appendonly', 'no']).withWaitStrategy(tc.Wait.forLogMessage(/Ready to accept connections/));
      break;
    case 'nats':
      container = container.withExposedPorts(containerPort).withCommand(['-js']).withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/));
      break;
    case 'postgres':
      // The entrypoint's init server logs the same line first, on a socket only: wait for the second.
      container = container
        .withExposedPorts(containerPort)
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' })
        .withWaitStrategy(tc.Wait.forLogMessage(/database system is ready to accept connections/, 2));
      break;
    case 'amqp10':
      container = container
        .withExposedPorts(containerPort)
        .withEnvironment({ ARTEMIS_USER: 'artemis', ARTEMIS_PASSWORD: 'artemis', ANONYMOUS_LOGIN: 'false', JAVA_ARGS_APPEND: '-Dbrokerconfig.addressSettings.#.maxDeliveryAttempts=-1' })
        .withWaitStrategy(tc.Wait.forLogMessage(/AMQ221007|Server is now (active|live)/));
      break;
    case 'sqs':
      container = container.withExposedPorts(containerPort).withWaitStrategy(tc.Wait.forListeningPorts());
      break;
  }
  context.log(`@omnibus/testing: starting a ${image} container ...`);
  let started: Awaited<ReturnType<typeof container.start>>;
  try {
    started = await container.start();
  } catch (error) {
    throw new ContainerStartError(`the ${image} container did not start: ${(error as Error).message}`);
  }
  const mappedHost = started.getHost();
  const mappedPort = fixedPort ?? started.getMappedPort(containerPort);
  const stop = async () => {
    await started.stop({ remove: true });
  };
  const ready = await waitUntilReady(() => probeBroker(kind, { host: mappedHost, port: mappedPort }, brokerUrl(kind, mappedHost, mappedPort), context.probeTimeoutMs), context.timeoutMs);
  if (!ready.ok) {
    await stop().catch(() => undefined);
    throw new ContainerStartError(`the ${image} container started but does not answer on ${mappedHost}:${mappedPort}: ${ready.reason}`);
  }
  return { host: mappedHost, port: mappedPort, detail: `${image} container ${started.getId().slice(0, 12)}: ${ready.detail}`, stop };
}
