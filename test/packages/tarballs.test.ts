// What would be published, tested as a user gets it: every public package is built and packed
// with npm; each tarball is linted by publint and by Are the Types Wrong; the tarballs are
// installed into a scratch project, which runs the order-flow example from them (memory:// and
// Redis) and type-checks a consumer file under NodeNext and bundler resolution with strict and
// exactOptionalPropertyTypes. ESM-only is a documented choice (README "Install"): attw's
// CommonJS-consumer finding is the one accepted.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { Redis } from 'ioredis';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithBroker } from '@omnibus/test-support';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

interface Manifest {
  name: string;
  private?: boolean;
}

const published = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .filter((dir) => !(JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest).private)
  .sort()
  // Outside CI a run may check some packages only (one being written does not build yet).
  .filter((dir) => process.env.CI === 'true' || !process.env.OMNIBUS_TARBALLS || process.env.OMNIBUS_TARBALLS.split(',').includes(dir));

/** Tarball path per package directory, filled by the pack step. */
const tarballs = new Map<string, string>();
const work = mkdtempSync(join(tmpdir(), 'omnibus-tarballs-'));
const scratch = join(work, 'project');

/** A Redis database of its own: the example's fixed topic and group names meet no other test's. */
const REDIS_DB = 11;

async function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

beforeAll(async () => {
  await sh('npx', ['turbo', 'run', 'build', '--output-logs=errors-only', ...published.map((dir) => `--filter=./packages/${dir}`)], root);
  const packed = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', work, ...published.flatMap((dir) => ['-w', `packages/${dir}`])], root)) as { name: string; filename: string }[];
  for (const entry of packed) tarballs.set(entry.name.replace('@omnibus/', ''), join(work, entry.filename));
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('packed tarballs', () => {
  it.each(published)('%s passes publint', async (dir) => {
    const tarball = readFileSync(tarballs.get(dir) as string);
    const { messages, pkg } = await publint({ pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) as ArrayBuffer }, level: 'suggestion', strict: true });
    expect(messages.map((message) => `${message.type}: ${formatMessage(message, pkg) ?? message.code}`)).toEqual([]);
  });

  it.each(published)('%s has types that resolve everywhere an ESM-only package can be imported (attw)', async (dir) => {
    const pkg = createPackageFromTarballData(new Uint8Array(readFileSync(tarballs.get(dir) as string)));
    const result = await checkPackage(pkg);
    expect(result.types, 'the tarball ships types').not.toBe(false);
    const problems = 'problems' in result ? result.problems : [];
    // A CommonJS `require` of an ESM-only package is the documented choice; anything else is a defect.
    const unexpected = problems.filter((problem) => problem.kind !== 'CJSResolvesToESM');
    expect(unexpected).toEqual([]);
  });
});

describe('a project that installs the tarballs', () => {
  beforeAll(async () => {
    cpSync(join(root, 'test', 'packages', 'consumer'), join(scratch, 'src'), { recursive: true });
    for (const file of ['order-flow.ts', 'email-worker.ts', 'topics.ts']) cpSync(join(root, 'examples', 'src', file), join(scratch, 'src', file));
    const dependencies = Object.fromEntries(['core', 'redis'].map((dir) => [`@omnibus/${dir}`, `file:${tarballs.get(dir) as string}`]));
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', dependencies: { ...dependencies, zod: '^4.1.0', zod3: 'npm:zod@^3.25.76', valibot: '^1.5.0', arktype: '^2.2.10' }, devDependencies: { '@types/node': '^20.19.0' } }, null, 2));
    await sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', '--engine-strict'], scratch);
  }, 180_000);

  const tsconfig = (resolution: 'NodeNext' | 'Bundler', outDir?: string) => ({
    compilerOptions: {
      target: 'ES2022',
      module: resolution === 'NodeNext' ? 'NodeNext' : 'ESNext',
      moduleResolution: resolution,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: false,
      types: ['node'],
      ...(outDir ? { outDir } : { noEmit: true }),
    },
    include: ['src'],
  });

  it.each(['NodeNext', 'Bundler'] as const)('type-checks under %s resolution with strict and exactOptionalPropertyTypes, with zod 4, zod 3, valibot and arktype topics', async (resolution) => {
    const config = join(scratch, `tsconfig.${resolution}.json`);
    writeFileSync(config, JSON.stringify(tsconfig(resolution)));
    await expect(sh('node', [tsc, '-p', config], scratch)).resolves.toBe('');
  }, 120_000);

  async function runOrderFlow(url: string): Promise<string> {
    const config = join(scratch, 'tsconfig.build.json');
    if (!existsSync(join(scratch, 'dist', 'order-flow.js'))) {
      writeFileSync(config, JSON.stringify(tsconfig('NodeNext', 'dist')));
      await sh('node', [tsc, '-p', config], scratch);
    }
    return sh('node', ['dist/order-flow.js'], scratch, { BROKER_URL: url });
  }

  it('runs the order-flow example from the tarballs on memory://', async () => {
    const output = await runOrderFlow('memory://');
    expect(output).toContain('done: 2 emails sent (one after a retry), 1 order dead-lettered');
  }, 120_000);

  describeWithBroker('redis', 'on Redis', (endpoint) => {
    const url = `${endpoint.url.replace(/\/\d*$/, '')}/${REDIS_DB}`;
    const flush = async () => {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        await redis.flushdb();
      } finally {
        redis.disconnect();
      }
    };
    beforeAll(flush);
    afterAll(flush);

    it('runs the order-flow example from the tarballs', async () => {
      const output = await runOrderFlow(url);
      expect(output).toContain('done: 2 emails sent (one after a retry), 1 order dead-lettered');
    }, 120_000);
  });
});
