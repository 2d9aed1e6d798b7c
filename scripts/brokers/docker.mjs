// Docker fallback (docker-compose.yml at the repo root) and the docker-compose tool itself.
import { join } from 'node:path';
import { IS_CI, ROOT, aptInstall, lastLines, log, run, which } from './util.mjs';

const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

let engine;
/** true when a Docker engine answers (`docker info`), cached per run. */
export async function dockerEngineAvailable() {
  if (engine === undefined) engine = Boolean(which('docker')) && (await run('docker', ['info'], { timeoutMs: 15_000 })).ok;
  return engine;
}

/** `docker compose` (v2 plugin) or `docker-compose` (v1, Debian's package), whichever works. */
async function composeCommand() {
  if (which('docker') && (await run('docker', ['compose', 'version'], { timeoutMs: 10_000 })).ok) return ['docker', ['compose']];
  if (which('docker-compose')) return ['docker-compose', []];
  return null;
}

/** Starts one service of docker-compose.yml. Resolves to { ok, detail }. */
export async function composeUp(service) {
  const cmd = await composeCommand();
  if (!cmd) return { ok: false, detail: 'neither `docker compose` nor `docker-compose` is installed' };
  const [bin, pre] = cmd;
  // v2 waits for the healthcheck itself; v1 has no --wait, the caller's probe waits instead.
  const args = [...pre, '-f', COMPOSE_FILE, 'up', '-d', ...(bin === 'docker' ? ['--wait'] : []), service];
  log.info(`${service}: ${bin} ${args.join(' ')}`);
  const res = await run(bin, args, { timeoutMs: 300_000 });
  return { ok: res.ok, detail: res.ok ? `${bin} ${args.join(' ')}` : lastLines(res.stderr || res.stdout, 5) };
}

export async function composeStop(service) {
  const cmd = await composeCommand();
  if (!cmd) return { ok: false, detail: 'no docker compose tool' };
  const [bin, pre] = cmd;
  const res = await run(bin, [...pre, '-f', COMPOSE_FILE, 'stop', service], { timeoutMs: 120_000 });
  return { ok: res.ok, detail: res.ok ? 'docker compose stop' : lastLines(res.stderr || res.stdout, 3) };
}

/**
 * Makes sure the `docker-compose` tool is present (Debian package), so that docker-compose.yml
 * can be validated (test/smoke/compose.test.ts) and used as a fallback. A failure only matters in CI.
 */
export async function ensureComposeTool() {
  if (which('docker-compose')) return { ok: true };
  const ok = (await aptInstall(['docker-compose'], 'validates docker-compose.yml')) && Boolean(which('docker-compose'));
  if (ok) return { ok: true };
  const msg = 'docker-compose is not installed and `apt-get install docker-compose` failed';
  if (IS_CI) return { ok: false, error: msg };
  log.warn(`${msg}; test/smoke/compose.test.ts will be skipped`);
  return { ok: true };
}
