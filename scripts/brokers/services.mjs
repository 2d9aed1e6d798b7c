// RabbitMQ, Redis and NATS: where to find them, how to probe them, how to start/stop a local one.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { amqpProbe, natsProbe, redisProbe } from './probes.mjs';
import { STATE_DIR, ensureDir, isAlive, readPid, run, stopPid } from './util.mjs';

/** Parses `a://h:p,b://h:p` or `h:p,h:p` into [{ host, port, tls }]. */
export function parseEndpoints(value, defaultPort, tlsSchemes = []) {
  return String(value)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const u = new URL(s.includes('://') ? s : `tcp://${s}`);
      const tls = tlsSchemes.includes(u.protocol.replace(':', ''));
      return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort), tls };
    });
}

function describeEndpoint(envVar, defaultUrl, defaultPort, tlsSchemes) {
  const override = process.env[envVar];
  const url = override || defaultUrl;
  return { override: Boolean(override), url, list: parseEndpoints(url, defaultPort, tlsSchemes) };
}

function beamRunning() {
  try {
    return readdirSync('/proc').some((d) => /^\d+$/.test(d) && safeRead(`/proc/${d}/comm`).trim() === 'beam.smp');
  } catch {
    return false;
  }
}

function safeRead(file) {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------

export const rabbitmq = {
  name: 'rabbitmq',
  envVar: 'OMNIBUS_TEST_AMQP_URL',
  composeService: 'rabbitmq',
  waitTimeoutMs: 90_000,
  pkg: 'rabbitmq-server',
  bin: 'rabbitmq-server',
  endpoints: () => describeEndpoint('OMNIBUS_TEST_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', 5672, ['amqps']),
  probe: amqpProbe,
  async start(bin) {
    const res = await run(bin, ['-detached'], { timeoutMs: 60_000 });
    // `-detached` forks the Erlang VM and returns; readiness is judged by the AMQP probe.
    return {
      ok: res.ok,
      cmd: `${bin} -detached`,
      error: res.ok ? undefined : (res.stderr || res.stdout).trim(),
      state: { how: 'local', cmd: `${bin} -detached`, startedAt: Date.now() },
      log: '/var/log/rabbitmq',
    };
  },
  // No pid to watch: look for the Erlang VM (with some grace while `-detached` forks it).
  alive: (state) => beamRunning() || Date.now() - (state.startedAt ?? 0) < 15_000,
  async stop() {
    const res = await run('rabbitmqctl', ['shutdown'], { timeoutMs: 60_000 });
    return { ok: res.ok, detail: res.ok ? 'rabbitmqctl shutdown' : (res.stderr || res.stdout).trim() };
  },
};

export const redis = {
  name: 'redis',
  envVar: 'OMNIBUS_TEST_REDIS_URL',
  composeService: 'redis',
  waitTimeoutMs: 15_000,
  pkg: 'redis-server',
  bin: 'redis-server',
  endpoints: () => describeEndpoint('OMNIBUS_TEST_REDIS_URL', 'redis://127.0.0.1:6379', 6379, ['rediss']),
  probe: redisProbe,
  async start(bin) {
    const dir = ensureDir(join(STATE_DIR, 'redis'));
    const pidFile = join(STATE_DIR, 'redis.pid');
    const logFile = join(STATE_DIR, 'redis.log');
    const args = ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'];
    args.push('--dir', dir, '--pidfile', pidFile, '--logfile', logFile);
    const res = await run(bin, args, { timeoutMs: 30_000 });
    return {
      ok: res.ok,
      cmd: `${bin} --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`,
      error: res.ok ? undefined : (res.stderr || res.stdout).trim(),
      state: { how: 'local', pidFile },
      log: logFile,
    };
  },
  alive: (state) => {
    const pid = readPid(state.pidFile);
    return pid === null || isAlive(pid); // the pid file appears shortly after daemonizing
  },
  async stop(state) {
    const pid = readPid(state.pidFile);
    if (!pid) return { ok: true, detail: 'no pid file' };
    const ok = await stopPid(pid, { timeoutMs: 10_000 });
    return { ok, detail: `pid ${pid}` };
  },
};

export const nats = {
  name: 'nats',
  envVar: 'OMNIBUS_TEST_NATS_URL',
  composeService: 'nats',
  waitTimeoutMs: 20_000,
  pkg: 'nats-server',
  bin: 'nats-server',
  endpoints: () => describeEndpoint('OMNIBUS_TEST_NATS_URL', 'nats://127.0.0.1:4222', 4222, ['tls']),
  probe: natsProbe,
  async start(bin) {
    const storeDir = ensureDir(join(STATE_DIR, 'nats-js'));
    const logFile = join(STATE_DIR, 'nats.log');
    rmSync(logFile, { force: true });
    const args = ['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', storeDir];
    const out = openSync(logFile, 'a');
    try {
      const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, out] });
      const pid = await new Promise((resolvePromise) => {
        child.once('spawn', () => resolvePromise(child.pid));
        child.once('error', () => resolvePromise(null));
      });
      child.unref();
      return {
        ok: Boolean(pid),
        cmd: `${bin} ${args.join(' ')}`,
        error: pid ? undefined : 'spawn failed',
        state: { how: 'local', pid },
        log: logFile,
      };
    } finally {
      closeSync(out);
    }
  },
  alive: (state) => isAlive(state.pid),
  async stop(state) {
    const ok = await stopPid(state.pid, { timeoutMs: 15_000 });
    return { ok, detail: `pid ${state.pid}` };
  },
};
