// Starting a broker as a local process: redis-server, nats-server, rabbitmq-server, PostgreSQL's
// initdb + postgres from the PATH, Kafka from Maven Central jars run with java. Each on a free
// port, with its own temporary directory, in its own process group; stop() kills the group and
// removes the directory. A process-exit hook kills whatever is still running.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { brokerUrl, type BrokerKind } from './kinds.js';
import { probeBroker, waitUntilReady } from './probes.js';

/** The Kafka version whose jars a local Kafka runs. */
export const KAFKA_VERSION = '3.9.2';

export interface LocalContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  readonly probeTimeoutMs: number;
  readonly cacheDir: string;
  readonly log: (line: string) => void;
}

export interface LocalBroker {
  readonly host: string;
  readonly port: number;
  readonly detail: string;
  readonly stop: () => Promise<void>;
}

/** Thrown when a local start is not possible or failed; `message` says why and what was run. */
export class LocalStartError extends Error {}

/** An executable named `name` on the PATH of `env`, else the first of `fallbacks` that exists. */
export function findExecutable(name: string, env: Readonly<Record<string, string | undefined>>, fallbacks: readonly string[] = []): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return fallbacks.find((candidate) => existsSync(candidate));
}

/** A TCP port nothing listens on at 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHook = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

interface Spawned {
  readonly child: ChildProcess;
  /** The last lines it printed. */
  readonly output: (lines?: number) => string;
  /** Why it is gone, or undefined while it runs. */
  readonly gone: () => string | undefined;
  readonly kill: () => Promise<void>;
}

interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

function spawnGroup(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; runAs?: RunAs | undefined }): Spawned {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const child of running) killGroup(child, 'SIGKILL');
    });
  }
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...options.runAs });
  running.add(child);
  let text = '';
  let spawnError: Error | undefined;
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('close', () => running.delete(child));
  return {
    child,
    output: (lines = 15) => text.trim().split('\n').slice(-lines).join('\n'),
    gone: () => {
      if (spawnError) return `${command} could not be started: ${spawnError.message}`;
      if (child.exitCode !== null) return `${command} exited with code ${child.exitCode}`;
      if (child.signalCode !== null) return `${command} was killed by ${child.signalCode}`;
      return undefined;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null || spawnError) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Run to completion; the output on failure. */
async function runToEnd(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; input?: string; runAs?: RunAs | undefined }): Promise<void> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...options.runAs });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text = (text + chunk.toString('utf8')).slice(-20_000)));
  child.stderr?.on('data', (chunk: Buffer) => (text = (text + chunk.toString('utf8')).slice(-20_000)));
  if (options.input !== undefined) child.stdin?.end(options.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  if (result.error) throw new LocalStartError(`${command} could not be run: ${result.error.message}`);
  if (result.code !== 0) {
    const how = result.signal ? `was killed by ${result.signal}${result.signal === 'SIGKILL' ? ` (after ${options.timeoutMs} ms?)` : ''}` : `exited with code ${result.code ?? '?'}`;
    throw new LocalStartError(`${[command, ...args].join(' ')} ${how}:\n${text.trim().split('\n').slice(-15).join('\n')}`);
  }
}

interface Launch {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly port: number;
  readonly url?: string;
  readonly runAs?: RunAs | undefined;
}

/** Spawn `launch` in `dir` and wait for the kind's probe; on failure kill it, remove `dir` and throw with its output. */
async function launchAndWait(kind: BrokerKind, launch: Launch, dir: string, context: LocalContext): Promise<LocalBroker> {
  const spawned = spawnGroup(launch.command, launch.args, { cwd: dir, env: launch.env ?? context.env, runAs: launch.runAs });
  const address = { host: '127.0.0.1', port: launch.port };
  const stop = async () => {
    await spawned.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = await waitUntilReady(() => probeBroker(kind, address, launch.url ?? brokerUrl(kind, address.host, address.port), context.probeTimeoutMs), context.timeoutMs, spawned.gone);
  if (!ready.ok) {
    const output = spawned.output();
    await stop();
    throw new LocalStartError(`${launch.name} did not become ready: ${ready.reason}${output ? `\n--- its output ---\n${output}` : ''}`);
  }
  return { host: address.host, port: launch.port, detail: `${launch.name} (pid ${spawned.child.pid ?? '?'}): ${ready.detail}`, stop };
}

const scratchDir = (kind: BrokerKind): string => mkdtempSync(join(tmpdir(), `omnibus-testing-${kind}-`));

async function startRedis(context: LocalContext): Promise<LocalBroker> {
  const command = findExecutable('redis-server', context.env);
  if (!command) throw new LocalStartError('redis-server is not on the PATH (install Redis, e.g. apt-get install redis-server or brew install redis)');
  const port = await freePort();
  const dir = scratchDir('redis');
  // prettier-ignore
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--daemonize', 'no', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', ''];
  return launchAndWait('redis', { name: `redis-server :${port}`, command, args, port }, dir, context);
}

async function startNats(context: LocalContext): Promise<LocalBroker> {
  const command = context.env.NATS_SERVER_BIN ?? findExecutable('nats-server', context.env, ['/usr/sbin/nats-server', '/usr/local/bin/nats-server']);
  if (!command) throw new LocalStartError('nats-server is not on the PATH (install it from https://github.com/nats-io/nats-server/releases, or set NATS_SERVER_BIN)');
  const port = await freePort();
  const dir = scratchDir('nats');
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'jetstream'), '-n', `omnibus-testing-${port}`];
  return launchAndWait('nats', { name: `nats-server :${port}`, command, args, port }, dir, context);
}

async function startRabbitMQ(context: LocalContext): Promise<LocalBroker> {
  // The package's own script, not the /usr/sbin wrapper that switches to the rabbitmq user.
  const command = findExecutable('rabbitmq-server', { PATH: ['/usr/lib/rabbitmq/bin', context.env.PATH ?? ''].join(delimiter) });
  if (!command) throw new LocalStartError('rabbitmq-server is not on the PATH (install RabbitMQ, e.g. apt-get install rabbitmq-server or brew install rabbitmq)');
  const [port, distPort] = [await freePort(), await freePort()];
  const dir = scratchDir('rabbitmq');
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`);
  const env: NodeJS.ProcessEnv = {
    ...(context.env as NodeJS.ProcessEnv),
    HOME: home,
    RABBITMQ_NODENAME: `omnibus-testing-${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_LOGS: '-',
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
  };
  return launchAndWait('rabbitmq', { name: `rabbitmq-server :${port}`, command, args: [], env, port }, dir, context);
}

function postgresBin(name: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return findExecutable(name, env, versions.map((v) => `/usr/lib/postgresql/${v}/bin/${name}`));
}

/** The postgres user, else nobody, from /etc/passwd. */
function unprivilegedUser(): RunAs | undefined {
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  const users = new Map(passwd.split('\n').map((line) => line.split(':')).filter((f) => f.length > 3).map((f) => [f[0] as string, { uid: Number(f[2]), gid: Number(f[3]) }]));
  return users.get('postgres') ?? users.get('nobody');
}

async function startPostgres(context: LocalContext): Promise<LocalBroker> {
  const initdb = postgresBin('initdb', context.env);
  const postgres = postgresBin('postgres', context.env);
  if (!initdb || !postgres) throw new LocalStartError('initdb and postgres are not on the PATH (install the PostgreSQL server, e.g. apt-get install postgresql or brew install postgresql)');
  // PostgreSQL refuses to run as root: as root (a CI container), run it as the postgres or nobody user.
  const runAs = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
  if (process.getuid?.() === 0 && !runAs) throw new LocalStartError('PostgreSQL refuses to run as root and there is no postgres or nobody user to run it as: run the tests as another user, or use a running server or a container');
  const port = await freePort();
  const dir = scratchDir('postgres');
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  const data = join(dir, 'data');
  const env = { ...(context.env as NodeJS.ProcessEnv), LC_ALL: 'C' };
  try {
    await runToEnd(initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'], { cwd: dir, env, timeoutMs: context.timeoutMs, runAs });
    // The `test` database of the default URL, created in single-user mode (no client program needed).
    await runToEnd(postgres, ['--single', '-D', data, 'postgres'], { cwd: dir, env, timeoutMs: context.timeoutMs, input: 'CREATE DATABASE test;\n', runAs });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  // prettier-ignore
  const args = ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  return launchAndWait('postgres', { name: `postgres :${port}`, command: postgres, args, env, port, url: `postgres://postgres@127.0.0.1:${port}/test`, runAs }, dir, context);
}

const KAFKA_POM = `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by @omnibus/testing: the jars of a single-node KRaft Kafka, copied by maven-dependency-plugin. Nothing is built. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>omnibus.testing</groupId>
  <artifactId>kafka-local-broker</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>3.8.1</version>
    <configuration><includeScope>runtime</includeScope></configuration>
  </plugin></plugins></build>
</project>
`;

/** `<cacheDir>/kafka-<version>/libs`, resolved with Maven on first use. */
async function kafkaLibs(context: LocalContext): Promise<string> {
  const home = join(context.cacheDir, `kafka-${KAFKA_VERSION}`);
  const libs = join(home, 'libs');
  const marker = join(libs, '.resolved');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === KAFKA_VERSION) return libs;
  const mvn = findExecutable('mvn', context.env);
  if (!mvn) throw new LocalStartError(`no Kafka jars in ${libs} and mvn is not on the PATH to fetch them from Maven Central (install Maven, or set cacheDir / OMNIBUS_TESTING_CACHE_DIR to a directory that has kafka-${KAFKA_VERSION}/libs)`);
  mkdirSync(home, { recursive: true });
  const pom = join(home, 'pom.xml');
  writeFileSync(pom, KAFKA_POM);
  const staging = join(home, `libs.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
  const started = Date.now();
  context.log(`@omnibus/testing: resolving Kafka ${KAFKA_VERSION} jars from Maven Central into ${libs} (once) ...`);
  try {
    await runToEnd(mvn, ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`], { cwd: home, env: context.env, timeoutMs: 600_000 });
    writeFileSync(join(staging, '.resolved'), `${KAFKA_VERSION}\n`);
    rmSync(libs, { recursive: true, force: true });
    renameSync(staging, libs);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  context.log(`@omnibus/testing: Kafka jars resolved in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return libs;
}

async function startKafka(context: LocalContext): Promise<LocalBroker> {
  const java = findExecutable('java', context.env);
  if (!java) throw new LocalStartError('java is not on the PATH (a local Kafka runs on a JRE 17+: install one, e.g. apt-get install default-jre-headless)');
  const libs = await kafkaLibs(context);
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = scratchDir('kafka');
  const properties = join(dir, 'server.properties');
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(
    properties,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'auto.create.topics.enable=true',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=1',
      'group.initial.rebalance.delay.ms=0',
      'num.network.threads=2',
      'num.io.threads=2',
      'background.threads=2',
      '',
    ].join('\n'),
  );
  writeFileSync(log4j, ['log4j.rootLogger=WARN, stdout', 'log4j.appender.stdout=org.apache.log4j.ConsoleAppender', 'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout', 'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n', ''].join('\n'));
  // prettier-ignore
  const jvm = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4j}`, `-Dkafka.logs.dir=${dir}`, '-cp', `${libs}/*`];
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  try {
    await runToEnd(java, [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties], { cwd: dir, env: context.env, timeoutMs: context.timeoutMs });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return launchAndWait('kafka', { name: `kafka :${port} (java, ${libs})`, command: java, args: [...jvm, 'kafka.Kafka', properties], port }, dir, context);
}

/** Start a local `kind` broker, or throw a LocalStartError saying why it cannot. */
export function startLocal(kind: BrokerKind, context: LocalContext): Promise<LocalBroker> {
  switch (kind) {
    case 'redis':
      return startRedis(context);
    case 'nats':
      return startNats(context);
    case 'rabbitmq':
      return startRabbitMQ(context);
    case 'postgres':
      return startPostgres(context);
    case 'kafka':
      return startKafka(context);
    case 'amqp10':
      return Promise.reject(new LocalStartError('no local start for ActiveMQ Artemis: use a container (install testcontainers, start Docker) or run one yourself and set OMNIBUS_TEST_AMQP10_URL'));
    case 'sqs':
      return Promise.reject(new LocalStartError('no local start for ElasticMQ: use a container (install testcontainers, start Docker) or run one yourself and set OMNIBUS_TEST_SQS_URL'));
  }
}
