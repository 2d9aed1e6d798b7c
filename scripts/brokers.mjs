#!/usr/bin/env node
// Real brokers for every test run.
//
//   node scripts/brokers.mjs up       find or start RabbitMQ, Kafka, Redis and NATS (JetStream)
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
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { composeStop, composeUp, dockerEngineAvailable, ensureComposeTool } from './brokers/docker.mjs';
import { kafka } from './brokers/kafka.mjs';
import { tcpProbe } from './brokers/probes.mjs';
import { nats, rabbitmq, redis } from './brokers/services.mjs';
import { IS_CI, aptInstall, clearState, log, readPid, readState, redactUrl, run, tailFile, waitUntil, which, withLock, writeState } from './brokers/util.mjs';

const ALL_BROKERS = [rabbitmq, kafka, redis, nats];
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
  let bin = which(broker.bin);
  if (!bin) {
    tried.push(`${broker.bin} is not installed`);
    const installed = await aptInstall([broker.pkg], `to run ${broker.name}`);
    bin = installed ? which(broker.bin) : null;
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
  if (await dockerEngineAvailable()) {
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
