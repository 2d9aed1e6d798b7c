// Per transport: the options the fault suite runs with (short timeouts and backoffs so faults are
// noticed and recovered from in seconds, a prefix unique to this run), and how long the broker may
// take to hand a crashed consumer's messages to another member of its group.
import { randomBytes } from 'node:crypto';
import { inspectKafka, type InspectTarget } from './inspect.js';
import { cleanupPrefix } from '../../../packages/amqp10/test/helpers.js';
import { purgeNats, purgeRabbitMQ, purgeRedis } from './purge.js';
import type { FaultTransportName } from './topic.js';
import { deleteQueuesWithPrefix, testCredentials as sqsTestCredentials } from '../../../packages/sqs/test/helpers.js';

type Options = Record<string, unknown>;

export interface FaultProfile {
  readonly name: FaultTransportName;
  /** Options for every transport of the suite (JSON: also given to consumer child processes). */
  options(overrides?: Options): Options;
  /** Overrides after which publish gives up (rejects) when the broker stays unreachable about `ms`. */
  publishGivesUpAfter(ms: number): Options;
  /**
   * Options under which a consumer's client gives up on the broker soon (a small retry budget), so
   * that an outage of a few seconds outlasts it: what the transport does then is under test.
   */
  readonly clientGivesUpSoon: Options;
  /**
   * Upper bound, in ms, for a crashed consumer's unacknowledged messages to be offered to another
   * member (ack wait, claim idle time, session timeout), used to size waits.
   */
  readonly crashRedeliveryMs: number;
  /** Diagnostics when messages were lost: what the broker holds of `ids` (raw client). */
  readonly inspect?: (target: InspectTarget, ids: readonly string[]) => Promise<string>;
  /** Remove what this run left on a shared broker at `url` (best effort; returns what it did). */
  readonly purge?: (url: string) => Promise<string>;
}

const run = randomBytes(3).toString('hex');

export const profiles: Record<FaultTransportName, FaultProfile> = {
  rabbitmq: {
    name: 'rabbitmq',
    options: (overrides = {}) => ({
      prefix: `faults-${run}.`,
      connectTimeoutMs: 3_000,
      heartbeatSeconds: 5,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      publishTimeoutMs: 30_000,
      closeTimeoutMs: 2_000,
      ...overrides,
    }),
    publishGivesUpAfter: (ms) => ({ publishTimeoutMs: ms }),
    // amqplib has no retry budget of its own: the transport reconnects for as long as it is open.
    clientGivesUpSoon: {},
    // The broker requeues a dead connection's unacked deliveries at once.
    crashRedeliveryMs: 1_000,
    purge: (url) => purgeRabbitMQ(url, `faults-${run}.`),
  },
  kafka: {
    name: 'kafka',
    options: (overrides = {}) => ({
      prefix: `faults-${run}.`,
      partitions: 4,
      sessionTimeoutMs: 3_000,
      heartbeatIntervalMs: 300,
      rebalanceTimeoutMs: 5_000,
      maxWaitTimeMs: 100,
      commitIntervalMs: 50,
      brokerConnectTimeoutMs: 1_000,
      requestTimeoutMs: 5_000,
      retries: 10,
      retryInitialDelayMs: 50,
      connectTimeoutMs: 30_000,
      publishTimeoutMs: 30_000,
      joinTimeoutMs: 60_000,
      closeTimeoutMs: 5_000,
      ...overrides,
    }),
    publishGivesUpAfter: (ms) => ({ publishTimeoutMs: ms }),
    // kafkajs stops a consumer for good once its retries are spent on an error it deems
    // non-retriable ("Failed to find group coordinator"); one retry makes that happen within the outage.
    clientGivesUpSoon: { retries: 1, retryInitialDelayMs: 50, requestTimeoutMs: 1_000, brokerConnectTimeoutMs: 500 },
    // The group coordinator notices the dead member after sessionTimeoutMs, then rebalances.
    crashRedeliveryMs: 3_000 + 5_000,
    inspect: inspectKafka,
  },
  redis: {
    name: 'redis',
    options: (overrides = {}) => ({
      prefix: `omnibus-faults-${run}:`,
      blockMs: 200,
      claimIdleMs: 2_000,
      claimIntervalMs: 250,
      schedulerIntervalMs: 100,
      connectTimeoutMs: 2_000,
      commandTimeoutMs: 30_000,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      ...overrides,
    }),
    publishGivesUpAfter: (ms) => ({ commandTimeoutMs: ms }),
    // ioredis reconnects without a limit; the transport sets no maxRetriesPerRequest budget that ends consumption.
    clientGivesUpSoon: {},
    // A pending entry idle for claimIdleMs is claimed by a live consumer.
    crashRedeliveryMs: 2_000 + 250,
    purge: (url) => purgeRedis(url, `omnibus-faults-${run}:`),
  },
  nats: {
    name: 'nats',
    options: (overrides = {}) => ({
      streamPrefix: `FAULTS_${run}`,
      subjectPrefix: `faults.${run}`,
      ackWaitMs: 2_000,
      pullExpiresMs: 1_000,
      reconnectTimeWaitMs: 100,
      pingIntervalMs: 2_000,
      requestTimeoutMs: 3_000,
      publishTimeoutMs: 3_000,
      publishRetries: 10,
      connectTimeoutMs: 3_000,
      closeTimeoutMs: 2_000,
      ...overrides,
    }),
    publishGivesUpAfter: (ms) => ({ publishTimeoutMs: Math.max(100, Math.round(ms / 3)), publishRetries: 2 }),
    // nats.js reconnects without a limit (the transport sets maxReconnectAttempts -1).
    clientGivesUpSoon: {},
    // JetStream redelivers a delivery not acked within ackWaitMs.
    crashRedeliveryMs: 2_000,
    purge: (url) => purgeNats(url, `FAULTS_${run}`),
  },
  amqp10: {
    name: 'amqp10',
    options: (overrides = {}) => ({
      prefix: `a10-faults-${run}.`,
      connectTimeoutMs: 3_000,
      // The broker sends a frame every second; a connection silent for 4 s is replaced.
      idleTimeoutMs: 2_000,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      publishTimeoutMs: 30_000,
      closeTimeoutMs: 2_000,
      ...overrides,
    }),
    publishGivesUpAfter: (ms) => ({ publishTimeoutMs: ms }),
    // rhea's own reconnect is off; the transport redials for as long as it is open.
    clientGivesUpSoon: {},
    // Artemis puts a closed connection's unsettled deliveries back at once (a SIGKILLed process's
    // socket is closed by the kernel).
    crashRedeliveryMs: 2_000,
    purge: (url) => cleanupPrefix(url, `a10-faults-${run}.`),
  },
  sqs: {
    name: 'sqs',
    options: (overrides = {}) => ({
      prefix: `sqs-t-f${run}-`,
      credentials: sqsTestCredentials,
      // Short long polls and a 3 s lease (extended every second while a handler runs).
      waitTimeSeconds: 1,
      visibilityTimeoutSeconds: 3,
      groupCacheMs: 100,
      requestTimeoutMs: 3_000,
      connectTimeoutMs: 1_000,
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      publishTimeoutMs: 30_000,
      ...overrides,
    }),
    publishGivesUpAfter: (ms) => ({ publishTimeoutMs: ms }),
    // HTTP: every request is retried by the transport for as long as it is open; no client budget.
    clientGivesUpSoon: {},
    // A crashed consumer's messages become visible again when their visibility timeout ends.
    crashRedeliveryMs: 3_000,
    purge: async (url) => `deleted ${await deleteQueuesWithPrefix(url, `sqs-t-f${run}-`)} queues`,
  },
};
