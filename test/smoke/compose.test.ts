// docker-compose.yml is the Docker fallback of scripts/brokers.mjs: keep it valid even on machines
// without a Docker engine. `docker-compose config -q` validates without talking to an engine.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isCI } from '@omnibus/test-support';
import { describe, expect, it } from 'vitest';

const composeFile = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));

function hasDockerCompose(): boolean {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

const available = hasDockerCompose();
if (!available && !isCI()) {
  console.warn('[omnibus] skipping docker-compose.yml validation: docker-compose is not installed (npm run brokers:up installs it)');
}

describe('docker-compose.yml', () => {
  it.skipIf(!available && !isCI())('is valid (`docker-compose config -q`)', () => {
    if (!available) throw new Error('docker-compose is not installed (CI=true): `npm run brokers:up` should have installed the Debian package');
    const res = spawnSync('docker-compose', ['-f', composeFile, 'config', '-q'], { encoding: 'utf8', timeout: 60_000 });
    expect(res.stderr.trim(), 'docker-compose config -q').toBe('');
    expect(res.status).toBe(0);
  });

  it.skipIf(!available && !isCI())('defines the four broker services, PostgreSQL, Artemis and ElasticMQ', () => {
    if (!available) throw new Error('docker-compose is not installed (CI=true)');
    const res = spawnSync('docker-compose', ['-f', composeFile, 'config', '--services'], { encoding: 'utf8', timeout: 60_000 });
    expect(res.status).toBe(0);
    expect(res.stdout.trim().split('\n').sort()).toEqual(['artemis', 'elasticmq', 'kafka', 'nats', 'postgres', 'rabbitmq', 'redis']);
  });
});
