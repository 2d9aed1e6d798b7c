import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Tests run on sources: every workspace package name is aliased to its src/index.ts,
// so no build is needed. The package list is read from disk, never hard-coded.
const root = import.meta.dirname;
const packageDirs = [
  ...readdirSync(join(root, 'packages')).map((dir) => join(root, 'packages', dir)),
  join(root, 'test', 'support'),
].filter((dir) => existsSync(join(dir, 'package.json')));

const alias = packageDirs.map((dir) => {
  const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
  return { find: new RegExp(`^${name.replace('/', '\\/')}$`), replacement: resolve(dir, 'src/index.ts') };
});

const packageProjects = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'test')))
  .map((dir) => ({
    resolve: { alias },
    test: { name: dir, include: [`packages/${dir}/test/**/*.test.ts`], testTimeout: 60_000, hookTimeout: 120_000 },
  }));

export default defineConfig({
  test: {
    // vitest runs one file at a time on a 2-core machine (its default is cores - 1), and these files
    // mostly wait on brokers, timers and child processes, not on the CPU: three at a time.
    maxWorkers: 3,
    projects: [
      ...packageProjects,
      {
        resolve: { alias },
        test: { name: 'integration', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 },
      },
    ],
  },
});
