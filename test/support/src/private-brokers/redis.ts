// A private redis-server (see private-broker.ts).
import { freePorts } from '../ports.js';
import { tempDir } from '../processes.js';
import { PrivateBroker, startOrClose, type LaunchSpec } from './private-broker.js';
import { redisReady } from './probes.js';

export interface RedisLaunchOptions {
  /** More redis-server arguments (e.g. --tls-port …). */
  readonly args?: readonly string[];
  /** Password of the default user (--requirepass); the probe and `url` use it. */
  readonly password?: string;
}

/** redis-server with an fsync-always AOF: every acknowledged write survives a SIGKILL. */
export async function startRedis(options: RedisLaunchOptions = {}): Promise<PrivateBroker> {
  const { args = [], password } = options;
  const [port] = (await freePorts(1)) as [number];
  const dir = tempDir('redis');
  const spec: LaunchSpec = {
    name: `redis-server :${port}`,
    command: 'redis-server',
    // prettier-ignore
    args: [
      '--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'no', '--daemonize', 'no',
      '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
      '--logfile', '', '--loglevel', 'notice',
      ...args, ...(password ? ['--requirepass', password] : []),
    ],
    cwd: dir,
    readyLine: /Ready to accept connections/,
    probe: () => redisReady(port, password),
    startTimeoutMs: 30_000,
  };
  const url = password ? `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
  const broker = new PrivateBroker('redis', url, port, dir, spec);
  await startOrClose(broker);
  return broker;
}
