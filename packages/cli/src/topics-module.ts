import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StandardSchemaV1, Topic } from '@omnibus/core';
import { UsageError } from './exit-codes.js';

/** A topic of a `--topics` module: one with a schema (any Standard Schema: zod, valibot, arktype), as `defineTopic` makes it. */
export type SchemaTopic = Topic<unknown, unknown> & { readonly schema: StandardSchemaV1 };

const isSchemaTopic = (value: unknown): value is SchemaTopic => {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; schema?: { '~standard'?: { validate?: unknown } } };
  return typeof candidate.name === 'string' && typeof candidate.schema?.['~standard']?.validate === 'function';
};

/**
 * The topics a module exports (`export const orders = defineTopic(...)`, a default export
 * object of them, or an exported array/object of them). A `.ts` module needs a TypeScript
 * loader in Node (`node --import tsx`); compiled `.js` works as it is.
 */
export async function loadTopics(path: string, cwd: string = process.cwd()): Promise<SchemaTopic[]> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new UsageError(`--topics ${path}: no such file (${file}); give the module that exports your defineTopic(...) values`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (cause) {
    const hint = /\.(c|m)?ts$/.test(file) ? ' (a TypeScript module needs a loader: run `node --import tsx $(which omnibus) ...`, or point --topics at the compiled .js)' : '';
    throw new UsageError(`--topics ${path}: cannot load it: ${(cause as Error)?.message ?? String(cause)}${hint}`);
  }
  const found = new Map<string, SchemaTopic>();
  const visit = (value: unknown, depth: number) => {
    if (isSchemaTopic(value)) {
      found.set(value.name, value);
      return;
    }
    if (depth > 1 || typeof value !== 'object' || value === null) return;
    for (const inner of Array.isArray(value) ? value : Object.values(value)) visit(inner, depth + 1);
  };
  for (const value of Object.values(module)) visit(value, 0);
  if (found.size === 0) throw new UsageError(`--topics ${path}: the module exports no topic (export the values of defineTopic(name, schema))`);
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The topic named `name` in the module, or a UsageError listing the ones it has. */
export function topicNamed(topics: readonly SchemaTopic[], name: string, path: string): SchemaTopic {
  const topic = topics.find((t) => t.name === name);
  if (!topic) throw new UsageError(`topic "${name}" is not defined in ${path} (it defines ${topics.map((t) => `"${t.name}"`).join(', ')})`);
  return topic;
}
