// A private RabbitMQ node (see private-broker.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts } from '../ports.js';
import { tempDir } from '../processes.js';
import { RABBITMQ_SERVER, privateBrokerUnavailable } from './availability.js';
import { PrivateBroker, startOrClose, type LaunchSpec } from './private-broker.js';
import { amqpReady } from './probes.js';

/**
 * A second, standalone RabbitMQ node (own node name, ports, Mnesia dir, Erlang cookie in its own
 * HOME, no plugins), started from the installed package's scripts. It registers its name with the
 * machine's epmd like any node; the shared node is neither clustered with nor touched. Messages are
 * durable: publisher confirms for persistent messages come after the message store wrote them.
 */
export async function startRabbitMQ(): Promise<PrivateBroker> {
  const unavailable = privateBrokerUnavailable('rabbitmq');
  if (unavailable) throw new Error(unavailable);
  const [port, distPort] = (await freePorts(2)) as [number, number];
  const dir = tempDir('rabbitmq');
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.default = 127.0.0.1:${port}`, 'loopback_users = none', ''].join('\n'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: `omnibus-private-${port}@localhost`,
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
  const spec: LaunchSpec = {
    name: `rabbitmq :${port}`,
    command: RABBITMQ_SERVER,
    args: [],
    cwd: dir,
    env,
    group: true,
    readyLine: /Server startup complete/,
    probe: () => amqpReady(port),
    startTimeoutMs: 120_000,
  };
  const broker = new PrivateBroker('rabbitmq', `amqp://guest:guest@127.0.0.1:${port}`, port, dir, spec);
  await startOrClose(broker);
  return broker;
}
