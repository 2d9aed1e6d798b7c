#!/usr/bin/env node
// Real brokers for every test run.
//
//   node scripts/brokers.mjs up       find or start RabbitMQ, Kafka, Redis, NATS (JetStream) and PostgreSQL
//   node scripts/brokers.mjs status   one line per broker: reachable or not, and where
//   node scripts/brokers.mjs down     stop only what `up` started
// Any of them may be limited to some brokers: `node scripts/brokers.mjs up kafka redis`.
//
// For each broker: an OMNIBUS_TEST_* override is only checked, never started. Otherwise the
// default 127.0.0.1 port is probed with the broker's own protocol; if nothing answers, the broker
// is started locally (installed with apt-get first if missing; Kafka from Maven Central jars),
// and as a last resort from docker-compose.yml when a Docker engine answers.
// With CI=true a broker that is still missing fails the run; otherwise it is a warning.
// See scripts/BROKERS.md. Node builtins only.
import { chownSync, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { composeStop, composeUp, dockerEngineAvailable, ensureComposeTool } from './brokers/docker.mjs';
import { artemis } from './brokers/artemis.mjs';
import { elasticmq } from './brokers/elasticmq.mjs';
import { kafka } from './brokers/kafka.mjs';
import { tcpProbe } from './brokers/probes.mjs';
import { nats, parseEndpoints, rabbitmq, redis } from './brokers/services.mjs';
import { IS_CI, STATE_DIR, aptInstall, clearState, ensureDir, isAlive, log, readPid, readState, redactUrl, run, stopPid, tailFile, waitUntil, which, withLock, writeState } from './brokers/util.mjs';

// --- PostgreSQL -------------------------------------------------------------------------------
// Not a broker, but the outbox and idempotency packages test against it, so it is found, reused
// or started like one. Started where it is installed but not running: an existing Debian cluster
// on the port (pg_ctlcluster), else a cluster of our own under .cache/brokers/postgres-data
// (initdb, trust auth, 127.0.0.1 only). Either way the database of the URL (`test`) is created
// if missing; tests create their own tables in it.

const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** user, database, host and port of the configured URL. */
function postgresTarget() {
  const override = process.env.OMNIBUS_TEST_POSTGRES_URL;
  const url = override || POSTGRES_URL;
  const parsed = new URL(url);
  return {
    override: Boolean(override),
    url,
    list: parseEndpoints(url, 5432),
    user: decodeURIComponent(parsed.username) || 'postgres',
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
  };
}

/**
 * One PostgreSQL session over the wire protocol (v3), node:net only: a StartupMessage, then,
 * once the server is ready for queries, `query` as a simple query. Resolves to { ok, detail,
 * code, error }, never rejects. A server asking for a password answers, but runs no query.
 */
function postgresSession(host, port, { user, database, query, timeoutMs = 3_000 }) {
  return new Promise((resolvePromise) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    let version = '?';
    let queried = false;
    const socket = net.createConnection({ host, port });
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!socket.destroyed) socket.end(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
      socket.destroy();
      resolvePromise(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer from ${host}:${port} within ${timeoutMs} ms` }), timeoutMs);
    const message = (type, body) => {
      const head = Buffer.alloc(type ? 5 : 4);
      if (type) head.write(type, 0, 'latin1');
      head.writeInt32BE(body.length + 4, type ? 1 : 0);
      return Buffer.concat([head, body]);
    };
    socket.once('connect', () => {
      const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, 'utf8');
      const protocol = Buffer.alloc(4);
      protocol.writeInt32BE(196608, 0); // 3.0
      socket.write(message('', Buffer.concat([protocol, params])));
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 5) {
        const type = String.fromCharCode(buf[0]);
        const length = buf.readInt32BE(1);
        if (buf.length < 1 + length) return;
        const body = buf.subarray(5, 1 + length);
        buf = buf.subarray(1 + length);
        if (type === 'R') {
          const code = body.readInt32BE(0);
          if (code !== 0) return finish({ ok: true, detail: `postgres answers (asks for a password: auth method ${code})`, auth: true });
        } else if (type === 'S') {
          const [name, value] = body.toString('utf8').split('\0');
          if (name === 'server_version') version = value;
        } else if (type === 'E') {
          const fields = Object.fromEntries(body.toString('utf8').split('\0').filter(Boolean).map((f) => [f[0], f.slice(1)]));
          return finish({ ok: false, code: fields.C, error: `${fields.M ?? 'error'} (SQLSTATE ${fields.C ?? '?'})`, version });
        } else if (type === 'Z') {
          if (!query || queried) return finish({ ok: true, detail: `postgres ${version}${query ? '' : `, database "${database}"`}`, version });
          queried = true;
          socket.write(message('Q', Buffer.from(`${query}\0`, 'utf8')));
        }
      }
    });
    socket.once('error', (err) => finish({ ok: false, error: `${host}:${port}: ${err.code ?? err.message}` }));
    socket.once('close', () => finish({ ok: false, error: `${host}:${port} closed the connection` }));
  });
}

/** Probe: a session to the URL's database. A missing database still means the server answers (it is created after `up`). */
async function postgresProbe(host, port) {
  const { user, database } = postgresTarget();
  const res = await postgresSession(host, port, { user, database, query: 'SELECT 1' });
  if (res.code === '3D000') return { ok: true, detail: `postgres ${res.version}; database "${database}" missing`, missingDatabase: true };
  return res;
}

/** pg_ctl on PATH, else the newest /usr/lib/postgresql/<version>/bin/pg_ctl (Debian does not put it on PATH). */
function findPgCtl() {
  const onPath = which('pg_ctl');
  if (onPath) return onPath;
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/pg_ctl`)) return `/usr/lib/postgresql/${v}/bin/pg_ctl`;
  } catch {
    // not installed there
  }
  return null;
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user. */
function asPostgresUser(cmd, args) {
  const root = process.getuid?.() === 0;
  return root ? { cmd: 'runuser', args: ['-u', 'postgres', '--', cmd, ...args] } : { cmd, args };
}

const POSTGRES_DATA = join(STATE_DIR, 'postgres-data');

/** The Debian clusters (pg_lsclusters), as { version, name, port, status, dataDir }. */
async function debianClusters() {
  if (!which('pg_lsclusters') || !which('pg_ctlcluster')) return [];
  const res = await run('pg_lsclusters', ['--no-header'], { timeoutMs: 15_000 });
  if (!res.ok) return [];
  return res.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 6)
    .map(([version, name, port, status, , dataDir]) => ({ version, name, port: Number(port), status, dataDir }));
}

const postgres = {
  name: 'postgres',
  envVar: 'OMNIBUS_TEST_POSTGRES_URL',
  composeService: 'postgres',
  waitTimeoutMs: 60_000,
  pkg: 'postgresql',
  bin: 'pg_ctl',
  findBin: findPgCtl,
  endpoints: postgresTarget,
  probe: postgresProbe,
  async prepare(bin, tried) {
    const { port } = postgresTarget().list[0];
    const cluster = (await debianClusters()).find((c) => c.port === port);
    if (cluster) return { ok: true, mode: 'cluster', ...cluster };
    const initdb = join(dirname(realpathSync(bin)), 'initdb');
    if (!existsSync(initdb)) return { ok: false, error: `no initdb next to ${bin}` };
    const root = process.getuid?.() === 0;
    if (root && !which('runuser')) return { ok: false, error: 'running as root without runuser: cannot run initdb as the postgres user' };
    ensureDir(POSTGRES_DATA);
    if (root) {
      const ids = await run('id', ['-u', 'postgres'], { timeoutMs: 5_000 });
      const gids = await run('id', ['-g', 'postgres'], { timeoutMs: 5_000 });
      if (!ids.ok || !gids.ok) return { ok: false, error: 'running as root and there is no postgres user to run initdb as' };
      chownSync(POSTGRES_DATA, Number(ids.stdout), Number(gids.stdout));
    }
    if (!existsSync(join(POSTGRES_DATA, 'PG_VERSION'))) {
      const { cmd, args } = asPostgresUser(initdb, ['-D', POSTGRES_DATA, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
      const res = await run(cmd, args, { timeoutMs: 120_000 });
      tried.push(`initdb ${POSTGRES_DATA}: ${res.ok ? 'ok' : 'failed'}`);
      if (!res.ok) return { ok: false, error: `initdb failed: ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' ')}` };
    }
    return { ok: true, mode: 'initdb', dataDir: POSTGRES_DATA };
  },
  async start(bin, prepared) {
    const pidFile = join(prepared.dataDir, 'postmaster.pid');
    if (prepared.mode === 'cluster') {
      const args = [prepared.version, prepared.name, 'start'];
      const res = await run('pg_ctlcluster', args, { timeoutMs: 60_000 });
      return {
        ok: res.ok,
        cmd: `pg_ctlcluster ${args.join(' ')}`,
        error: res.ok ? undefined : (res.stderr || res.stdout).trim(),
        state: { how: 'local', mode: 'cluster', version: prepared.version, cluster: prepared.name, pidFile, startedAt: Date.now() },
        log: `/var/log/postgresql/postgresql-${prepared.version}-${prepared.name}.log`,
      };
    }
    const { port } = postgresTarget().list[0];
    const logFile = join(prepared.dataDir, 'server.log'); // in the data dir: the postgres user writes it
    // No Unix socket (its directory may not be writable, and tests use TCP); -W: the probe waits.
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=''`;
    const { cmd, args } = asPostgresUser(bin, ['-D', prepared.dataDir, '-l', logFile, '-o', options, '-W', 'start']);
    const res = await run(cmd, args, { timeoutMs: 60_000 });
    return {
      ok: res.ok,
      cmd: `${bin} -D ${prepared.dataDir} -o "${options}" start`,
      error: res.ok ? undefined : (res.stderr || res.stdout).trim(),
      state: { how: 'local', mode: 'initdb', bin, dataDir: prepared.dataDir, pidFile, startedAt: Date.now() },
      log: logFile,
    };
  },
  alive: (state) => {
    const pid = readPid(state.pidFile); // postmaster.pid's first line
    return pid === null ? Date.now() - (state.startedAt ?? 0) < 15_000 : isAlive(pid);
  },
  async stop(state) {
    if (state.mode === 'cluster') {
      const res = await run('pg_ctlcluster', [state.version, state.cluster, 'stop'], { timeoutMs: 60_000 });
      return { ok: res.ok, detail: res.ok ? `pg_ctlcluster ${state.version} ${state.cluster} stop` : (res.stderr || res.stdout).trim() };
    }
    const { cmd, args } = asPostgresUser(state.bin, ['-D', state.dataDir, '-m', 'fast', 'stop']);
    const res = await run(cmd, args, { timeoutMs: 60_000 });
    if (res.ok) return { ok: true, detail: `pg_ctl -D ${state.dataDir} stop` };
    const pid = readPid(state.pidFile);
    return pid ? { ok: await stopPid(pid, { timeoutMs: 15_000 }), detail: `pid ${pid}` } : { ok: true, detail: 'not running' };
  },
};

/** Create the URL's database on a server that answers without it (a fresh cluster has only `postgres`). */
async function ensurePostgresDatabase(result) {
  if (result.name !== 'postgres' || !result.ok) return;
  const target = postgresTarget();
  const { host, port } = target.list[0];
  const probe = await postgresProbe(host, port);
  if (probe.auth) log.warn(`postgres asks for a password, so brokers.mjs cannot check or create database "${target.database}": put the password in ${postgres.envVar}, or allow trust auth on 127.0.0.1 for tests`);
  if (!probe.missingDatabase) return;
  if (target.override) {
    log.warn(`postgres: database "${target.database}" does not exist at the ${postgres.envVar} server; create it (nothing is created on an override)`);
    return;
  }
  const name = target.database.replace(/"/g, '""');
  const res = await postgresSession(host, port, { user: target.user, database: 'postgres', query: `CREATE DATABASE "${name}"` });
  if (res.ok || res.code === '42P04') {
    log.info(`postgres: created database "${target.database}"`);
    result.detail = (await postgresProbe(host, port)).detail ?? result.detail;
  } else {
    log.warn(`postgres: could not create database "${target.database}": ${res.error}`);
    result.ok = false;
    result.tried.push(`CREATE DATABASE: ${res.error}`);
    result.error = res.error;
  }
}

const ALL_BROKERS = [rabbitmq, kafka, redis, nats, postgres, artemis, elasticmq];
let BROKERS = ALL_BROKERS;

async function probeAny(broker, list) {
  let last = { ok: false, error: 'no endpoint configured' };
  for (const e of list) {
    // TLS endpoints (amqps://, rediss://, tls://) only get a TCP check.
    const res = e.tls ? await tcpProbe(e.host, e.port, 1_500) : await broker.probe(e.host, e.port);
    if (res.ok) return { ...res, where: `${e.host}:${e.port}` };
    last = res;
  }
  return last;
}

/** The newest *.log in a directory (RabbitMQ logs to /var/log/rabbitmq/rabbit@host.log), or the file itself. */
function logFileOf(path) {
  try {
    if (!statSync(path).isDirectory()) return path;
    const logs = readdirSync(path)
      .filter((f) => f.endsWith('.log'))
      .map((f) => join(path, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    return logs[0] ?? path;
  } catch {
    return path;
  }
}

async function upOne(broker) {
  const t0 = Date.now();
  const ep = broker.endpoints();
  const tried = [];
  const done = (ok, how, extra = {}) => ({ name: broker.name, ok, how, url: redactUrl(ep.url), tried, ms: Date.now() - t0, ...extra });
  if (broker.ensureArtifacts && !ep.override) {
    const artifacts = await broker.ensureArtifacts(tried);
    if (!artifacts.ok) log.warn(`${broker.name}: ${artifacts.error}`);
  }
  let last = await probeAny(broker, ep.list);
  const probe = async () => (last = await probeAny(broker, ep.list)).ok;
  if (last.ok) return done(true, 'reachable', { detail: last.detail });
  tried.push(`probed ${redactUrl(ep.url)} (${last.error})`);

  if (ep.override) {
    tried.push(`${broker.envVar} is set, so nothing is started locally`);
    return done(false, 'override', { error: last.error });
  }

  // Something is listening but not answering yet (still booting), or a broker this script
  // started earlier is still coming up: wait for it rather than start a second one.
  const { host, port } = ep.list[0];
  const prev = readState(broker.name);
  const ours = broker.running?.() ?? (prev?.how === 'local' && broker.alive(prev) ? prev : null);
  if (ours || (await tcpProbe(host, port, 500)).ok) {
    log.info(`${broker.name}: ${host}:${port} is ${ours ? 'still starting (started by an earlier run)' : 'open but not answering yet'}; waiting ...`);
    const w = await waitUntil(probe, { timeoutMs: broker.waitTimeoutMs, intervalMs: 500 });
    if (w.ok) return done(true, ours ? 'started' : 'reachable', { detail: last.detail });
    tried.push(`waited for ${host}:${port}: ${w.reason} (${last.error})`);
    return done(false, 'port-busy', { error: `${host}:${port} is in use but does not answer as ${broker.name}` });
  }

  // Start it locally, installing it first if needed.
  const findBin = () => (broker.findBin ? broker.findBin() : which(broker.bin));
  let bin = findBin();
  if (!bin) {
    tried.push(`${broker.bin} is not installed`);
    const installed = await aptInstall([broker.pkg], `to run ${broker.name}`);
    bin = installed ? findBin() : null;
    tried.push(`apt-get install ${broker.pkg}: ${bin ? 'ok' : 'failed'}`);
    // Debian's package scripts may already have started the service.
    if (bin && (await probe())) return done(true, 'installed', { detail: last.detail });
  }
  let logTail;
  // Up to two attempts: a broker whose disposable test data is unusable (`recover()`, Kafka only)
  // gets its data wiped and one more start.
  for (let attempt = 1; bin && attempt <= 2; attempt++) {
    const prepared = broker.prepare ? await broker.prepare(bin, tried) : { ok: true };
    if (!prepared.ok) {
      tried.push(prepared.error);
      break;
    }
    log.info(`${broker.name}: nothing answers on ${host}:${port}; starting it locally ...`);
    const started = await broker.start(bin, prepared);
    tried.push(`started \`${started.cmd}\`${started.ok ? '' : `: ${started.error}`}`);
    if (!started.ok) break;
    writeState(broker.name, started.state);
    const w = await waitUntil(probe, {
      timeoutMs: broker.waitTimeoutMs,
      intervalMs: 500,
      abort: () => (broker.alive(started.state) ? null : 'the process exited'),
    });
    if (w.ok) return done(true, 'started', { detail: last.detail });
    tried.push(`no answer on ${host}:${port}: ${w.reason} (${last.error})`);
    logTail = started.log ? `--- tail of ${logFileOf(started.log)} ---\n${tailFile(logFileOf(started.log), 40)}` : undefined;
    if (broker.alive(started.state)) await broker.stop(started.state);
    clearState(broker.name);
    if (attempt === 1 && broker.recover?.()) {
      log.warn(`${broker.name} did not start (${w.reason}); wiped its test data and retrying once.\n${logTail}`);
      tried.push('wiped its test data and retried');
      continue;
    }
    break;
  }

  // Last resort: docker compose.
  if (!broker.composeService) {
    tried.push('docker-compose.yml has no service for it');
  } else if (await dockerEngineAvailable()) {
    log.info(`${broker.name}: not available locally, but a Docker engine answers: using docker-compose.yml`);
    const up = await composeUp(broker.composeService);
    tried.push(`docker compose up ${broker.composeService}: ${up.ok ? 'ok' : up.detail}`);
    if (up.ok) {
      const w = await waitUntil(probe, { timeoutMs: broker.waitTimeoutMs, intervalMs: 1_000 });
      if (w.ok) {
        writeState(broker.name, { how: 'docker', service: broker.composeService });
        return done(true, 'docker', { detail: last.detail });
      }
      tried.push(`container did not answer: ${w.reason}`);
    }
  } else {
    tried.push('no Docker engine answers (`docker info`)');
  }
  return done(false, 'missing', { error: last.error, logTail });
}

/**
 * The RabbitMQ transport reads in-flight (unacknowledged) counts from the management HTTP API
 * (AMQP reports ready messages only; packages/rabbitmq/README.md "Inspection"). Enable the plugin
 * on a local broker this script uses (not an OMNIBUS_TEST_AMQP_URL override, not a container:
 * rabbitmq:3-management has it). Skipped when the API port already answers (the CLI takes ~9 s).
 */
async function enableRabbitManagement(result) {
  if (result.name !== 'rabbitmq' || !result.ok || result.how === 'docker' || rabbitmq.endpoints().override) return;
  const { host } = rabbitmq.endpoints().list[0];
  if ((await tcpProbe(host, 15672, 1_000)).ok) return;
  if (!which('rabbitmq-plugins')) {
    log.warn('rabbitmq: rabbitmq-plugins is not on PATH, so the management plugin stays off (inspect() gives no in-flight counts)');
    return;
  }
  const res = await run('rabbitmq-plugins', ['-q', 'enable', 'rabbitmq_management'], { timeoutMs: 120_000 });
  const w = res.ok ? await waitUntil(async () => (await tcpProbe(host, 15672, 1_000)).ok, { timeoutMs: 30_000, intervalMs: 500 }) : { ok: false, reason: (res.stderr || res.stdout).trim() };
  if (w.ok) log.info(`rabbitmq: management plugin enabled (http://${host}:15672)`);
  else log.warn(`rabbitmq: could not enable the management plugin (${w.reason}); inspect() gives no in-flight counts`);
}

const HOW = {
  reachable: 'already running, reused',
  started: 'started locally by brokers.mjs',
  installed: 'installed with apt-get and running',
  docker: 'started with docker compose',
};

async function up() {
  const t0 = Date.now();
  const upWithPlugins = async (broker) => {
    const result = await upOne(broker);
    await enableRabbitManagement(result);
    await ensurePostgresDatabase(result);
    return result;
  };
  const [results, compose] = await withLock('brokers', () => Promise.all([Promise.all(BROKERS.map(upWithPlugins)), ensureComposeTool()]));
  let failed = 0;
  for (const r of results) {
    if (r.ok) {
      log.ok(`${r.name.padEnd(8)} ready  ${r.url}  (${HOW[r.how]}; ${r.detail}; ${(r.ms / 1000).toFixed(1)} s)`);
      if (r.name === 'nats' && r.detail.includes('no jetstream')) log.warn('nats answers but JetStream is not enabled (start nats-server with -js)');
      continue;
    }
    failed++;
    const msg = `${r.name} is not available at ${r.url}. Tried: ${r.tried.join('; ')}`;
    if (IS_CI) log.error(msg);
    else log.warn(`${msg}. Its test suites will be skipped.`);
    if (r.logTail) console.log(r.logTail);
  }
  if (!compose.ok) {
    failed++;
    log.error(compose.error);
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (failed && IS_CI) {
    log.error(`${failed} broker(s)/tool(s) unavailable with CI=true: failing (${secs} s)`);
    process.exitCode = 1;
  } else {
    log.info(`${results.filter((r) => r.ok).length}/${results.length} brokers ready (${secs} s)`);
  }
}

async function down() {
  await withLock('brokers', async () => {
    for (const broker of BROKERS) {
      const state = broker.running?.() ?? readState(broker.name);
      if (!state) {
        log.info(`${broker.name.padEnd(8)} not started by brokers.mjs: left alone`);
        continue;
      }
      const res = state.how === 'docker' ? await composeStop(state.service) : await broker.stop(state);
      if (res.ok) {
        clearState(broker.name);
        log.info(`${broker.name.padEnd(8)} stopped (${res.detail})`);
      } else {
        log.warn(`${broker.name}: could not stop (${res.detail})`);
        process.exitCode = 1;
      }
    }
  });
}

const pidOf = (state) => state.pid ?? (state.pidFile ? readPid(state.pidFile) : null);

async function status() {
  const lines = await Promise.all(
    BROKERS.map(async (broker) => {
      const ep = broker.endpoints();
      const res = await probeAny(broker, ep.list);
      const state = broker.running?.() ?? readState(broker.name);
      const origin = ep.override
        ? `from ${broker.envVar}`
        : state
          ? state.how === 'docker'
            ? 'docker compose (started by brokers.mjs)'
            : `started by brokers.mjs${pidOf(state) ? ` (pid ${pidOf(state)})` : ''}`
          : 'external (not started by brokers.mjs)';
      return res.ok
        ? `${broker.name.padEnd(8)} reachable      ${redactUrl(ep.url)}  ${res.detail}; ${origin}`
        : `${broker.name.padEnd(8)} NOT reachable  ${redactUrl(ep.url)}  ${res.error}`;
    }),
  );
  for (const line of lines) console.log(line);
}

const commands = { up, down, status };
const [cmd, ...only] = process.argv.slice(2);
const unknown = only.filter((name) => !ALL_BROKERS.some((b) => b.name === name));
if (!commands[cmd] || unknown.length) {
  console.error(`usage: node scripts/brokers.mjs up|down|status [${ALL_BROKERS.map((b) => b.name).join('|')} ...]`);
  process.exit(2);
}
if (only.length) BROKERS = ALL_BROKERS.filter((b) => only.includes(b.name));
try {
  await commands[cmd]();
} catch (err) {
  log.error(err.stack ?? String(err));
  process.exitCode = 1;
}
