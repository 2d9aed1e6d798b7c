// Shared helpers for scripts/brokers.mjs: paths, logging, processes, apt, pid files.
// Plain Node ESM, node builtins only.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync, closeSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CACHE_DIR = join(ROOT, '.cache');
export const STATE_DIR = join(CACHE_DIR, 'brokers');
export const IS_CI = process.env.CI === 'true' || process.env.CI === '1';

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);

export const log = {
  info: (msg) => console.log(`[brokers] ${msg}`),
  ok: (msg) => console.log(`[brokers] ${paint('32', msg)}`),
  warn: (msg) => console.log(`[brokers] ${paint('33;1', `WARNING: ${msg}`)}`),
  error: (msg) => console.error(`[brokers] ${paint('31;1', `ERROR: ${msg}`)}`),
};

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Absolute path of an executable on PATH (plus the sbin dirs that Debian uses), or null. */
export function which(cmd) {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, cmd);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Runs a command to completion without blocking the event loop (other brokers keep being
 * probed meanwhile). Resolves to { ok, status, stdout, stderr }; never rejects.
 */
export function run(cmd, args, { cwd = ROOT, timeoutMs = 120_000, env } = {}) {
  return new Promise((resolvePromise) => {
    let stdout = '';
    let stderr = '';
    let child;
    try {
      child = spawn(cmd, args, { cwd, env: env ? { ...process.env, ...env } : process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolvePromise({ ok: false, status: null, stdout, stderr: String(err.message) });
      return;
    }
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${Math.round(timeoutMs / 1000)} s)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', (err) => {
      clearTimeout(timer);
      resolvePromise({ ok: false, status: null, stdout, stderr: stderr + String(err.message) });
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ ok: status === 0, status, stdout, stderr });
    });
  });
}

let aptUpdated = false;
let aptQueue = Promise.resolve();
/**
 * apt-get update (once per run) + apt-get install -y <pkgs>. Calls are serialized (dpkg has
 * one lock). Resolves to true on success; failures are logged, never thrown.
 */
export function aptInstall(pkgs, why) {
  const task = aptQueue.then(() => aptInstallNow(pkgs, why));
  aptQueue = task.catch(() => false);
  return task;
}

async function aptInstallNow(pkgs, why) {
  if (!which('apt-get')) {
    log.warn(`cannot install ${pkgs.join(' ')} (${why}): apt-get not found`);
    return false;
  }
  const asRoot = !process.getuid || process.getuid() === 0;
  if (!asRoot && !which('sudo')) {
    log.warn(`cannot install ${pkgs.join(' ')} (${why}): not root and no sudo`);
    return false;
  }
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const exec = (args, timeoutMs) => (asRoot ? run(args[0], args.slice(1), { env, timeoutMs }) : run('sudo', ['-n', ...args], { env, timeoutMs }));
  if (!aptUpdated) {
    log.info(`apt-get update (to install ${pkgs.join(' ')}) ...`);
    const upd = await exec(['apt-get', 'update'], 300_000);
    if (!upd.ok) {
      log.warn(`apt-get update failed: ${lastLines(upd.stderr || upd.stdout, 3)}`);
      return false;
    }
    aptUpdated = true;
  }
  log.info(`apt-get install -y ${pkgs.join(' ')} (${why}) ...`);
  const inst = await exec(['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs], 600_000);
  if (!inst.ok) {
    log.warn(`apt-get install ${pkgs.join(' ')} failed: ${lastLines(inst.stderr || inst.stdout, 3)}`);
    return false;
  }
  return true;
}

export function lastLines(text, n) {
  return String(text ?? '')
    .trimEnd()
    .split('\n')
    .slice(-n)
    .join('\n');
}

export function tailFile(file, n = 40) {
  try {
    return lastLines(readFileSync(file, 'utf8'), n);
  } catch {
    return `(no log at ${file})`;
  }
}

/** Polls `check` (async, truthy = done) every `intervalMs` until `timeoutMs`. `abort()` may return a reason to stop early. */
export async function waitUntil(check, { timeoutMs, intervalMs = 250, abort } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return { ok: true };
    const reason = abort?.();
    if (reason) return { ok: false, reason };
    if (Date.now() >= deadline) return { ok: false, reason: `timed out after ${Math.round(timeoutMs / 1000)} s` };
    await delay(intervalMs);
  }
}

export function isAlive(pid) {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

export function readPid(file) {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

export function writeState(name, data) {
  ensureDir(STATE_DIR);
  writeFileSync(join(STATE_DIR, `${name}.json`), `${JSON.stringify({ ...data, at: new Date().toISOString() }, null, 2)}\n`);
}

export function readState(name) {
  try {
    return JSON.parse(readFileSync(join(STATE_DIR, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
}

export function clearState(name) {
  rmSync(join(STATE_DIR, `${name}.json`), { force: true });
}

/** Sends SIGTERM, waits up to `timeoutMs` for exit, then SIGKILL. */
export async function stopPid(pid, { timeoutMs = 30_000 } = {}) {
  if (!isAlive(pid)) return true;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return !isAlive(pid);
  }
  const res = await waitUntil(() => !isAlive(pid), { timeoutMs, intervalMs: 200 });
  if (res.ok) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return (await waitUntil(() => !isAlive(pid), { timeoutMs: 5_000, intervalMs: 100 })).ok;
}

/**
 * A simple inter-process lock so that two concurrent `up` runs do not both start a broker.
 * The lock file holds the owner's pid; a lock whose owner is dead is taken over.
 */
export async function withLock(name, fn, { timeoutMs = 300_000 } = {}) {
  ensureDir(STATE_DIR);
  const file = join(STATE_DIR, `${name}.lock`);
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const owner = readPid(file);
      if (!isAlive(owner) || owner === process.pid) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${file} held by pid ${owner} for too long`);
      if (!announced) {
        log.info(`waiting for another brokers run (pid ${owner}) to finish ...`);
        announced = true;
      }
      await delay(300);
    }
  }
  try {
    return await fn();
  } finally {
    if (readPid(file) === process.pid) rmSync(file, { force: true });
  }
}

export { existsSync, join };

/** Broker URLs are printed without their password: `amqp://guest:***@127.0.0.1:5672`. */
export function redactUrl(url) {
  return String(url).replace(/([a-z][a-z0-9+.-]*:\/\/)([^@/\s]+)@/gi, (_m, scheme, userInfo) => {
    const colon = userInfo.indexOf(':');
    return colon === -1 ? `${scheme}***@` : `${scheme}${userInfo.slice(0, colon)}:***@`;
  });
}
