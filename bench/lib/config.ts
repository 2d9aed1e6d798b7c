// Benchmark settings from CLI flags, then environment variables, then defaults.
// Every setting has both forms so CI can set the environment and a person can type flags:
//   --messages 5000        BENCH_MESSAGES=5000
//   --only kafka,redis     BENCH_ONLY=kafka,redis
import { parseArgs } from 'node:util';
import type { SideKind } from '../sides/types.js';

export const BROKERS = ['rabbitmq', 'kafka', 'redis', 'nats', 'amqp10', 'sqs'] as const;
export type BrokerName = (typeof BROKERS)[number];
/** Everything `--only` accepts: the six brokers, the in-memory transport, and the tracing-cost section. */
export const TARGETS = [...BROKERS, 'memory', 'tracing'] as const;
export type TargetName = (typeof TARGETS)[number];
/**
 * Where the tracing-cost section runs (`--tracing-on`): the in-memory transport and the first four
 * brokers (amqp10 and sqs are in the comparison only, for now).
 */
export const TRACING_TARGETS = ['memory', 'rabbitmq', 'kafka', 'redis', 'nats'] as const;
export type TracingTarget = (typeof TRACING_TARGETS)[number];

export interface BenchConfig {
  /** Messages per throughput run (publish, then consume the backlog). */
  readonly messages: number;
  /** Rounds; each round runs raw and Omnibus once, in alternating order. */
  readonly rounds: number;
  readonly only: readonly TargetName[];
  /** Encoded body size in bytes (the JSON body is padded to this size). */
  readonly payloadBytes: number;
  /** Messages per publish call (raw: one pipeline / send / window slice; Omnibus: one publishBatch). */
  readonly batch: number;
  /** Publish calls in flight at once; batch × inflight is the publish window. */
  readonly inflight: number;
  /** Messages of the per-message publish run (one single-message publish call each). */
  readonly perMessageMessages: number;
  /** Single-message publish calls in flight at once in the per-message run. */
  readonly perMessageWindow: number;
  /** Consumer concurrency: prefetch / COUNT / max ack pending on the raw side, `concurrency` on Omnibus. */
  readonly concurrency: number;
  /** Fixed publish rate of the latency run, messages per second. */
  readonly latencyRate: number;
  /** Length of the latency run in seconds. */
  readonly latencySeconds: number;
  /** Kafka partitions of every benchmark topic (created up front, the same for both sides). */
  readonly kafkaPartitions: number;
  /** Messages of the memory-transport run. */
  readonly memoryMessages: number;
  /** Where the tracing-cost section runs (only when `only` includes 'tracing'). */
  readonly tracingOn: readonly TracingTarget[];
  /** Messages per tracing-cost run on a broker (memory:// uses `memoryMessages`). */
  readonly tracingMessages: number;
  /** Which sides run (both, unless profiling one with --side). */
  readonly sides: readonly SideKind[];
  /** The raw sides carry Omnibus' envelope headers too (to separate the envelope's cost from the rest). */
  readonly rawEnvelope: boolean;
  /**
   * `--peers`: also run the other frameworks (Moleculer channels, NestJS microservices) on the same
   * workload, on the brokers they have a transport for (rabbitmq, kafka, redis, nats).
   */
  readonly peers: boolean;
  /** Where latest.json / latest.md go; empty string: do not write. */
  readonly outDir: string;
  /** Broker URLs (env overrides as in the tests). */
  readonly urls: Readonly<Record<BrokerName, string>>;
}

const HELP = `npm run bench -- [options]

  --messages N        messages per throughput run          (BENCH_MESSAGES, default 50000)
  --rounds N          rounds, raw and Omnibus alternating  (BENCH_ROUNDS, default 3)
  --only LIST         comma list of rabbitmq,kafka,redis,nats,amqp10,sqs,memory,tracing (BENCH_ONLY, default all)
  --payload BYTES     body size                            (BENCH_PAYLOAD, default 1024)
  --batch N           messages per publish call            (BENCH_BATCH, default 500)
  --inflight N        publish calls in flight              (BENCH_INFLIGHT, default 2)
  --per-message-messages N  messages of the per-message publish run, one publish call each
                                                           (BENCH_PER_MESSAGE_MESSAGES, default 20000)
  --per-message-window N    single-message publishes in flight in that run
                                                           (BENCH_PER_MESSAGE_WINDOW, default 1000)
  --concurrency N     consumer prefetch / concurrency      (BENCH_CONCURRENCY, default 100)
  --rate N            latency run: messages per second     (BENCH_RATE, default 1000)
  --seconds N         latency run: duration                (BENCH_SECONDS, default 5)
  --partitions N      Kafka partitions per topic           (BENCH_KAFKA_PARTITIONS, default 3)
  --memory-messages N memory transport run                 (BENCH_MEMORY_MESSAGES, default 200000)
  --tracing-on LIST   where the tracing section runs: memory,rabbitmq,kafka,redis,nats
                                                           (BENCH_TRACING_ON, default all five)
  --tracing-messages N messages per tracing run on a broker (BENCH_TRACING_MESSAGES, default 20000;
                      memory:// uses --memory-messages)
  --side raw|omnibus  run one side only, e.g. to profile it (BENCH_SIDE, default both)
  --raw-envelope      the raw side also carries Omnibus' six CloudEvents headers (BENCH_RAW_ENVELOPE=1),
                      to tell the envelope's cost in each client from the rest of Omnibus' cost
  --peers             also run @moleculer/channels and NestJS microservices on the same workload
                      (BENCH_PEERS=1; rabbitmq, kafka, redis, nats), their ratios to raw in extra columns
  --out DIR           results directory, "" to not write   (BENCH_OUT, default bench/results)

Broker URLs: OMNIBUS_BENCH_AMQP_URL, OMNIBUS_BENCH_KAFKA_URL, OMNIBUS_BENCH_REDIS_URL, OMNIBUS_BENCH_NATS_URL,
OMNIBUS_BENCH_AMQP10_URL, OMNIBUS_BENCH_SQS_URL (defaults amqp://guest:guest@127.0.0.1:5672, kafka://127.0.0.1:9092,
redis://127.0.0.1:6379, nats://127.0.0.1:4222, amqp10://artemis:artemis@127.0.0.1:5673,
sqs://omnibench:omnibench@127.0.0.1:9324?region=elasticmq: ElasticMQ takes any credentials).`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

function targets(value: string | undefined): TargetName[] {
  if (!value) return [...TARGETS];
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const name of names) {
    if (!(TARGETS as readonly string[]).includes(name)) throw new Error(`--only: unknown target "${name}" (use ${TARGETS.join(', ')})`);
  }
  return names as TargetName[];
}

function tracingTargets(value: string | undefined): TracingTarget[] {
  if (!value) return [...TRACING_TARGETS];
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  for (const name of names) {
    if (!(TRACING_TARGETS as readonly string[]).includes(name)) throw new Error(`--tracing-on: unknown target "${name}" (use ${TRACING_TARGETS.join(', ')})`);
  }
  return names as TracingTarget[];
}

function sidesOf(value: string | undefined): SideKind[] {
  if (!value || value === 'both') return ['raw', 'omnibus'];
  if (value === 'raw' || value === 'omnibus') return [value];
  throw new Error(`--side must be raw, omnibus or both, got "${value}"`);
}

/** Parse argv + env. Returns undefined after printing help. Throws on a bad value (a usage error). */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      messages: { type: 'string', short: 'n' },
      rounds: { type: 'string', short: 'r' },
      only: { type: 'string' },
      payload: { type: 'string' },
      batch: { type: 'string' },
      inflight: { type: 'string' },
      'per-message-messages': { type: 'string' },
      'per-message-window': { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      partitions: { type: 'string' },
      'memory-messages': { type: 'string' },
      side: { type: 'string' },
      'tracing-on': { type: 'string' },
      'tracing-messages': { type: 'string' },
      out: { type: 'string' },
      'raw-envelope': { type: 'boolean' },
      peers: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  const payloadBytes = positiveInt('--payload', values.payload ?? env.BENCH_PAYLOAD, 1024);
  if (payloadBytes < 128) throw new Error('--payload must be at least 128 bytes (room for the sequence number and timestamp)');
  return {
    messages: positiveInt('--messages', values.messages ?? env.BENCH_MESSAGES, 50_000),
    rounds: positiveInt('--rounds', values.rounds ?? env.BENCH_ROUNDS, 3),
    only: targets(values.only ?? env.BENCH_ONLY),
    payloadBytes,
    batch: positiveInt('--batch', values.batch ?? env.BENCH_BATCH, 500),
    inflight: positiveInt('--inflight', values.inflight ?? env.BENCH_INFLIGHT, 2),
    perMessageMessages: positiveInt('--per-message-messages', values['per-message-messages'] ?? env.BENCH_PER_MESSAGE_MESSAGES, 20_000),
    perMessageWindow: positiveInt('--per-message-window', values['per-message-window'] ?? env.BENCH_PER_MESSAGE_WINDOW, 1_000),
    concurrency: positiveInt('--concurrency', values.concurrency ?? env.BENCH_CONCURRENCY, 100),
    latencyRate: positiveInt('--rate', values.rate ?? env.BENCH_RATE, 1_000),
    latencySeconds: positiveInt('--seconds', values.seconds ?? env.BENCH_SECONDS, 5),
    kafkaPartitions: positiveInt('--partitions', values.partitions ?? env.BENCH_KAFKA_PARTITIONS, 3),
    memoryMessages: positiveInt('--memory-messages', values['memory-messages'] ?? env.BENCH_MEMORY_MESSAGES, 200_000),
    tracingOn: tracingTargets(values['tracing-on'] ?? env.BENCH_TRACING_ON),
    tracingMessages: positiveInt('--tracing-messages', values['tracing-messages'] ?? env.BENCH_TRACING_MESSAGES, 20_000),
    sides: sidesOf(values.side ?? env.BENCH_SIDE),
    rawEnvelope: values['raw-envelope'] ?? (env.BENCH_RAW_ENVELOPE === '1' || env.BENCH_RAW_ENVELOPE === 'true'),
    peers: values.peers ?? (env.BENCH_PEERS === '1' || env.BENCH_PEERS === 'true'),
    outDir: values.out ?? env.BENCH_OUT ?? 'bench/results',
    urls: {
      rabbitmq: env.OMNIBUS_BENCH_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
      kafka: env.OMNIBUS_BENCH_KAFKA_URL || 'kafka://127.0.0.1:9092',
      redis: env.OMNIBUS_BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
      nats: env.OMNIBUS_BENCH_NATS_URL || 'nats://127.0.0.1:4222',
      amqp10: env.OMNIBUS_BENCH_AMQP10_URL || 'amqp10://artemis:artemis@127.0.0.1:5673',
      sqs: env.OMNIBUS_BENCH_SQS_URL || 'sqs://omnibench:omnibench@127.0.0.1:9324?region=elasticmq',
    },
  };
}
