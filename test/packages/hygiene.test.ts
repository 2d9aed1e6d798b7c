import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Guards against release glue that drifts: every package exports types + default from
// dist, points its source condition at a file that exists, and core stays broker-free.
const root = join(import.meta.dirname, '..', '..');
const packages = readdirSync(join(root, 'packages')).filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')));

interface Manifest {
  name: string;
  type?: string;
  sideEffects?: boolean;
  files?: string[];
  license?: string;
  repository?: { type: string; url: string; directory?: string };
  dependencies?: Record<string, string>;
  exports: Record<string, Record<string, string> | string>;
}

const manifest = (dir: string) => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest;

describe('package manifests', () => {
  it.each(packages)('%s is ESM, side-effect free and exports types + default + source', (dir) => {
    const pkg = manifest(dir);
    expect(pkg.name).toBe(`@omnibus/${dir}`);
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
    // src ships beside dist: the source maps and the @omnibus/source condition point into it.
    expect(pkg.files).toEqual(['dist', 'src', 'README.md', 'LICENSE', 'CHANGELOG.md']);
    const main = pkg.exports['.'] as Record<string, string> | undefined;
    expect(main?.types).toBe('./dist/index.d.ts');
    expect(main?.default).toBe('./dist/index.js');
    expect(pkg.exports['./package.json']).toBe('./package.json');
    expect(existsSync(join(root, 'packages', dir, main?.['@omnibus/source'] ?? 'missing'))).toBe(true);
  });

  it.each(packages)('%s ships a LICENSE and says where its sources live', (dir) => {
    const pkg = manifest(dir);
    expect(pkg.license).toBe('MIT');
    expect(existsSync(join(root, 'packages', dir, 'LICENSE'))).toBe(true);
    expect(pkg.repository?.directory).toBe(`packages/${dir}`);
  });

  it.each(packages)('%s has a README for its npm page', (dir) => {
    expect(existsSync(join(root, 'packages', dir, 'README.md'))).toBe(true);
  });

  it('keeps @omnibus/core free of runtime dependencies: no validator, no broker client import', () => {
    expect(Object.keys(manifest('core').dependencies ?? {})).toEqual([]);
    const sources = readdirSync(join(root, 'packages/core/src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    for (const file of sources) {
      const text = readFileSync(join(root, 'packages/core/src', file), 'utf8');
      expect(text, file).not.toMatch(/from '(amqplib|kafkajs|ioredis|@nats-io\/[^']+|zod|valibot|arktype)'/);
    }
  });
});
