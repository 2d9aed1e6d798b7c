// ActiveMQ Artemis for the AMQP 1.0 transport (@omnibus/amqp10), run from its distribution.
//   distribution: org.apache.activemq:apache-artemis:<version>:tar.gz:bin from Maven Central
//                 (fetched over HTTPS and checked against its .sha512, `mvn dependency:copy` if that fails)
//                 -> .cache/brokers/artemis/apache-artemis-<version>
//   instance:     `artemis create` -> .cache/brokers/artemis/instance (user artemis/artemis, anonymous off,
//                 one AMQP acceptor on 127.0.0.1:5673 since RabbitMQ has 5672, 512 MiB heap,
//                 persistence on, journal in the instance's data dir)
//   run:          instance/bin/artemis run, detached, pid in .cache/brokers/artemis/artemis.pid
// Artemis 2.40 is built for Java 17 (class file version 61): an older java is refused before anything starts.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
// Node's global fetch, named for the linter (scripts list their globals).
const { fetch } = globalThis;
import { parseEndpoints } from './services.mjs';
import { STATE_DIR, aptInstall, ensureDir, isAlive, lastLines, log, readPid, run, stopPid, which } from './util.mjs';

export const ARTEMIS_VERSION = '2.40.0';
export const ARTEMIS_DIR = join(STATE_DIR, 'artemis');
export const ARTEMIS_HOME = join(ARTEMIS_DIR, `apache-artemis-${ARTEMIS_VERSION}`);
const INSTANCE = join(ARTEMIS_DIR, 'instance');
const PID_FILE = join(ARTEMIS_DIR, 'artemis.pid');
const LOG_FILE = join(ARTEMIS_DIR, 'artemis.log');
const DEFAULT_URL = 'amqp10://artemis:artemis@127.0.0.1:5673';
const ARTIFACT = `apache-artemis-${ARTEMIS_VERSION}-bin.tar.gz`;
const CENTRAL = `https://repo.maven.apache.org/maven2/org/apache/activemq/apache-artemis/${ARTEMIS_VERSION}/${ARTIFACT}`;
const MIN_JAVA = 17;

/** What the test broker is configured with; the instance is created again when this changes. */
const INSTANCE_SPEC = { version: ARTEMIS_VERSION, host: '127.0.0.1', port: 5673, user: 'artemis', password: 'artemis', heap: '512M', maxDeliveryAttempts: -1 };
const specHash = () => createHash('sha256').update(JSON.stringify(INSTANCE_SPEC)).digest('hex');

function target() {
  const override = process.env.OMNIBUS_TEST_AMQP10_URL;
  const url = override || DEFAULT_URL;
  const parsed = new URL(url);
  return {
    override: Boolean(override),
    url,
    list: parseEndpoints(url, 5672, ['amqp10s']),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

/** The major version of `java -version` (1.8 → 8), or null. */
async function javaMajor(java) {
  const res = await run(java, ['-version'], { timeoutMs: 30_000 });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(res.stderr + res.stdout);
  if (!match) return null;
  const major = Number(match[1]);
  return major === 1 ? Number(match[2]) : major;
}

async function download(tried) {
  const file = join(ARTEMIS_DIR, ARTIFACT);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const [body, sums] = await Promise.all([fetch(CENTRAL), fetch(`${CENTRAL}.sha512`)]);
    if (!body.ok || !sums.ok) throw new Error(`HTTP ${body.status}/${sums.status}`);
    const bytes = Buffer.from(await body.arrayBuffer());
    const expected = (await sums.text()).trim().split(/\s+/)[0].toLowerCase();
    const actual = createHash('sha512').update(bytes).digest('hex');
    if (actual !== expected) throw new Error('sha512 mismatch');
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
    tried.push(`fetched ${ARTIFACT} from Maven Central (sha512 checked)`);
    return file;
  } catch (error) {
    rmSync(tmp, { force: true });
    tried.push(`fetch ${ARTIFACT}: ${error.message}`);
  }
  let mvn = which('mvn');
  if (!mvn && (await aptInstall(['maven'], 'to fetch ActiveMQ Artemis'))) mvn = which('mvn');
  if (!mvn) return null;
  const coords = `org.apache.activemq:apache-artemis:${ARTEMIS_VERSION}:tar.gz:bin`;
  const res = await run(mvn, ['-q', '-B', 'dependency:copy', `-Dartifact=${coords}`, `-DoutputDirectory=${ARTEMIS_DIR}`], { timeoutMs: 600_000 });
  tried.push(`mvn dependency:copy ${coords} (${res.ok ? 'ok' : `exit ${res.status}`})`);
  return res.ok && existsSync(file) ? file : null;
}

/** The distribution, unpacked under .cache/brokers/artemis (downloaded once). */
export async function ensureArtemisDistribution(tried = []) {
  if (existsSync(join(ARTEMIS_HOME, 'bin', 'artemis'))) return { ok: true, home: ARTEMIS_HOME };
  ensureDir(ARTEMIS_DIR);
  const t0 = Date.now();
  log.info(`artemis: fetching ActiveMQ Artemis ${ARTEMIS_VERSION} from Maven Central ...`);
  const file = existsSync(join(ARTEMIS_DIR, ARTIFACT)) ? join(ARTEMIS_DIR, ARTIFACT) : await download(tried);
  if (!file) return { ok: false, error: `could not fetch ${ARTIFACT} (${tried.slice(-2).join('; ')})` };
  const res = await run('tar', ['xzf', file, '-C', ARTEMIS_DIR], { timeoutMs: 120_000 });
  tried.push(`tar xzf ${ARTIFACT} (${res.ok ? 'ok' : `exit ${res.status}`})`);
  if (!res.ok) return { ok: false, error: `unpacking ${file} failed: ${lastLines(res.stderr, 3)}` };
  log.info(`artemis: ${ARTEMIS_VERSION} unpacked in .cache/brokers/artemis (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return { ok: true, home: ARTEMIS_HOME };
}

/**
 * `artemis create` a broker instance in `dir`, then narrow its broker.xml to one AMQP acceptor on
 * host:port and make Artemis keep every message for the transport's own retry and dead-letter
 * policy (max-delivery-attempts -1). Shared by the test broker and the fault suite's private one.
 */
export async function createArtemisInstance(dir, { host, port, user, password, heap = '512M' }) {
  const artemis = join(ARTEMIS_HOME, 'bin', 'artemis');
  // prettier-ignore
  const args = [
    'create', '--silent', '--force', '--user', user, '--password', password, '--require-login',
    '--no-web', '--no-hornetq-acceptor', '--no-mqtt-acceptor', '--no-stomp-acceptor', '--no-autotune',
    '--nio', '--host', host, '--java-memory', heap, dir,
  ];
  const res = await run(artemis, args, { timeoutMs: 120_000 });
  if (!res.ok) return { ok: false, error: `artemis create failed: ${lastLines(res.stderr || res.stdout, 5)}` };
  const brokerXml = join(dir, 'etc', 'broker.xml');
  let xml = readFileSync(brokerXml, 'utf8');
  const acceptor = `<acceptor name="amqp">tcp://${host}:${port}?protocols=AMQP;useEpoll=true;amqpCredits=1000;amqpLowCredits=300;amqpMinLargeMessageSize=102400;amqpDuplicateDetection=true</acceptor>`;
  xml = xml.replace(/<acceptors>[\s\S]*?<\/acceptors>/, `<acceptors>\n         ${acceptor}\n      </acceptors>`);
  xml = xml.replace(/(<address-setting match="#">)/, '$1\n            <max-delivery-attempts>-1</max-delivery-attempts>');
  if (!xml.includes(`tcp://${host}:${port}?`) || !xml.includes('<max-delivery-attempts>-1')) return { ok: false, error: `unexpected broker.xml layout in ${brokerXml}` };
  writeFileSync(brokerXml, xml);
  return { ok: true };
}

// --- AMQP 1.0 probe -------------------------------------------------------------------------------
// SASL PLAIN, then an AMQP open, over node:net: the broker answers its own open (with its product
// and version in the properties) only once the credentials were accepted.

const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

/** A frame: size, doff 2, type (0 AMQP, 1 SASL), channel 0, then a described list. */
function frame(type, descriptor, fields) {
  const body = Buffer.concat(fields);
  const list = Buffer.concat([Buffer.from([0xd0]), u32(body.length + 4), u32(fields.length), body]);
  const payload = Buffer.concat([Buffer.from([0x00, 0x53, descriptor]), list]);
  return Buffer.concat([u32(payload.length + 8), Buffer.from([2, type, 0, 0]), payload]);
}
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};
const sym = (text) => Buffer.concat([Buffer.from([0xb3]), u32(Buffer.byteLength(text)), Buffer.from(text)]);
const str = (text) => Buffer.concat([Buffer.from([0xb1]), u32(Buffer.byteLength(text)), Buffer.from(text)]);
const bin = (bytes) => Buffer.concat([Buffer.from([0xb0]), u32(bytes.length), bytes]);

/** The descriptor code of the performative of the first complete frame at `offset`, or undefined. */
function performative(buf, offset) {
  if (buf.length < offset + 8) return undefined;
  const size = buf.readUInt32BE(offset);
  if (buf.length < offset + size) return undefined;
  const doff = buf[offset + 4] * 4;
  const at = offset + doff;
  return { code: buf[at] === 0x00 && buf[at + 1] === 0x53 ? buf[at + 2] : -1, end: offset + size, body: buf.subarray(at, offset + size) };
}

export function amqp10Probe(host, port, { user = target().user, password = target().password, timeoutMs = 3_000 } = {}) {
  return new Promise((resolvePromise) => {
    let buf = Buffer.alloc(0);
    let step = 'sasl-header';
    let settled = false;
    const socket = net.createConnection({ host, port });
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no AMQP 1.0 answer from ${host}:${port} within ${timeoutMs} ms (at ${step})` }), timeoutMs);
    socket.once('connect', () => socket.write(SASL_HEADER));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (step === 'sasl-header' || step === 'amqp-header') {
          if (buf.length < 8) return;
          const expected = step === 'sasl-header' ? SASL_HEADER : AMQP_HEADER;
          if (!buf.subarray(0, 8).equals(expected)) return finish({ ok: false, error: `not an AMQP 1.0 server with SASL (${buf.subarray(0, 8).toString('latin1')})` });
          buf = buf.subarray(8);
          step = step === 'sasl-header' ? 'sasl-mechanisms' : 'open';
          continue;
        }
        const f = performative(buf, 0);
        if (!f) return;
        buf = buf.subarray(f.end);
        if (step === 'sasl-mechanisms') {
          if (f.code !== 0x40) return finish({ ok: false, error: 'no sasl-mechanisms frame' });
          if (!f.body.includes(Buffer.from('PLAIN'))) return finish({ ok: false, error: 'the server offers no SASL PLAIN' });
          socket.write(frame(1, 0x41, [sym('PLAIN'), bin(Buffer.from(`\0${user}\0${password}`))]));
          step = 'sasl-outcome';
        } else if (step === 'sasl-outcome') {
          if (f.code !== 0x44) return finish({ ok: false, error: 'no sasl-outcome frame' });
          // outcome list: [code ubyte ...]: 0x50 <code> after the list header.
          const codeAt = f.body.indexOf(0x50, 3);
          const code = codeAt === -1 ? -1 : f.body[codeAt + 1];
          if (code !== 0) return finish({ ok: true, detail: `AMQP 1.0 answers, SASL PLAIN refused (code ${code}): check the credentials`, auth: true });
          socket.write(AMQP_HEADER);
          socket.write(frame(0, 0x10, [str('omnibus-brokers-probe')]));
          step = 'amqp-header';
        } else if (step === 'open') {
          if (f.code !== 0x10) return finish({ ok: false, error: `expected an AMQP open, got performative 0x${f.code.toString(16)}` });
          const text = f.body.toString('latin1');
          const version = /version.{1,6}?(\d+\.\d+\.\d+)/s.exec(text)?.[1];
          const product = /apache-activemq-artemis/.test(text) ? 'artemis' : 'amqp 1.0 broker';
          socket.write(frame(0, 0x18, []));
          return finish({ ok: true, detail: `${product} ${version ?? '?'} (AMQP 1.0 open)`, version });
        }
      }
    });
    socket.once('error', (err) => finish({ ok: false, error: `${host}:${port}: ${err.code ?? err.message}` }));
    socket.once('close', () => finish({ ok: false, error: `${host}:${port} closed the connection (at ${step})` }));
  });
}

// --- the service ----------------------------------------------------------------------------------

export const artemis = {
  name: 'artemis',
  envVar: 'OMNIBUS_TEST_AMQP10_URL',
  composeService: 'artemis',
  waitTimeoutMs: 90_000,
  pkg: 'openjdk-17-jre-headless',
  bin: 'java',
  endpoints: target,
  probe: (host, port) => amqp10Probe(host, port),
  /** The fault suite creates private Artemis instances from this distribution, even when the shared broker runs. */
  ensureArtifacts: ensureArtemisDistribution,
  running: () => {
    const pid = readPid(PID_FILE);
    return isAlive(pid) ? { how: 'local', pid, pidFile: PID_FILE } : null;
  },
  async prepare(java, tried) {
    const major = await javaMajor(java);
    if (major === null || major < MIN_JAVA) return { ok: false, error: `ActiveMQ Artemis ${ARTEMIS_VERSION} needs Java ${MIN_JAVA} or newer; ${java} is ${major ?? 'unknown'}` };
    const dist = await ensureArtemisDistribution(tried);
    if (!dist.ok) return dist;
    const marker = join(INSTANCE, '.omnibus-spec');
    const current = existsSync(marker) && readFileSync(marker, 'utf8').trim() === specHash();
    if (!current) {
      rmSync(INSTANCE, { recursive: true, force: true });
      const created = await createArtemisInstance(INSTANCE, INSTANCE_SPEC);
      tried.push(`artemis create ${INSTANCE} (${created.ok ? 'ok' : created.error})`);
      if (!created.ok) return created;
      writeFileSync(marker, `${specHash()}\n`);
    }
    return { ok: true };
  },
  async start() {
    if (existsSync(LOG_FILE)) renameSync(LOG_FILE, `${LOG_FILE}.1`);
    const out = openSync(LOG_FILE, 'a');
    try {
      const cmd = join(INSTANCE, 'bin', 'artemis');
      const child = spawn(cmd, ['run'], { cwd: INSTANCE, detached: true, stdio: ['ignore', out, out] });
      const pid = await new Promise((resolvePromise) => {
        child.once('spawn', () => resolvePromise(child.pid));
        child.once('error', () => resolvePromise(null));
      });
      child.unref();
      if (pid) writeFileSync(PID_FILE, `${pid}\n`);
      return {
        ok: Boolean(pid),
        cmd: '.cache/brokers/artemis/instance/bin/artemis run',
        error: pid ? undefined : 'spawn failed',
        state: { how: 'local', pid, pidFile: PID_FILE, startedAt: Date.now() },
        log: LOG_FILE,
      };
    } finally {
      closeSync(out);
    }
  },
  alive: (state) => isAlive(state.pid),
  /** The test data is disposable: an instance Artemis refuses to start on is created anew. */
  recover: () => {
    if (!existsSync(INSTANCE)) return false;
    rmSync(INSTANCE, { recursive: true, force: true });
    return true;
  },
  async stop(state) {
    const pid = state.pid ?? readPid(PID_FILE);
    // SIGTERM runs Artemis' shutdown hook (a clean stop takes a second or two).
    const ok = await stopPid(pid, { timeoutMs: 30_000 });
    if (ok) rmSync(PID_FILE, { force: true });
    return { ok, detail: `pid ${pid}` };
  },
};

// `node scripts/brokers/artemis.mjs create <dir> <port>`: an instance configured like the test broker's
// (same user, acceptor settings and address settings) on another port, for the fault suite's private
// broker (test/support/src/private-brokers/artemis.ts), so both are made by one piece of code.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'create') {
  const [dir, port] = process.argv.slice(3);
  const dist = await ensureArtemisDistribution();
  const created = dist.ok ? await createArtemisInstance(dir, { ...INSTANCE_SPEC, port: Number(port) }) : dist;
  if (!created.ok) {
    console.error(created.error);
    process.exitCode = 1;
  }
}
