// Walks everything a user can see of an error or a log line (message, stack, every own property,
// nested objects, the cause chain, AggregateError's errors) and reports where a forbidden text
// appears. Only data properties are read (a getter could have side effects); the walk is bounded.
import type { LogEntry } from '@omnibus/test-support';

export interface Leak {
  /** Where the text was found, e.g. `error.cause.input` or `log[3].fields.err.stack`. */
  readonly at: string;
  readonly form: string;
}

const MAX_DEPTH = 8;
const MAX_NODES = 20_000;

export function scanForLeaks(value: unknown, root: string, forms: readonly string[]): Leak[] {
  const leaks: Leak[] = [];
  const seen = new Set<object>();
  let nodes = 0;
  const visit = (node: unknown, at: string, depth: number): void => {
    nodes += 1;
    if (nodes > MAX_NODES) return;
    if (typeof node === 'string') {
      for (const form of forms) if (node.includes(form)) leaks.push({ at, form });
      return;
    }
    if (typeof node !== 'object' || node === null || depth > MAX_DEPTH || seen.has(node)) return;
    if (ArrayBuffer.isView(node)) {
      visit(Buffer.from(node.buffer, node.byteOffset, node.byteLength).toString('utf8'), `${at}(bytes)`, depth);
      return;
    }
    seen.add(node);
    if (node instanceof Error) {
      // stack and message may be accessors on some engines: read them directly.
      visit(node.stack, `${at}.stack`, depth + 1);
      visit(node.message, `${at}.message`, depth + 1);
      visit(String(node), `${at}.toString()`, depth + 1);
    }
    for (const key of Reflect.ownKeys(node)) {
      const descriptor = Object.getOwnPropertyDescriptor(node, key);
      if (descriptor && 'value' in descriptor) visit(descriptor.value, `${at}.${String(key)}`, depth + 1);
    }
  };
  visit(value, root, 0);
  return leaks;
}

/** Leaks in every logged line: its message, and its fields as a JSON logger would write them, errors with their stacks. */
export function scanLog(entries: readonly LogEntry[], forms: readonly string[]): Leak[] {
  return entries.flatMap((entry, index) => [
    ...scanForLeaks(entry.message, `log[${index}].message`, forms),
    ...scanForLeaks(entry.fields, `log[${index}].fields`, forms),
    ...scanForLeaks(serialise(entry.fields), `log[${index}].json`, forms),
  ]);
}

function serialise(fields: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(fields, (_key, value: unknown) => {
      if (value instanceof Error) return { ...value, name: value.name, message: value.message, stack: value.stack, cause: value.cause };
      if (typeof value === 'object' && value !== null) {
        if (seen.has(value)) return '[circular]';
        seen.add(value);
      }
      return typeof value === 'bigint' ? String(value) : value;
    });
  } catch (error) {
    return `unserialisable: ${String(error)}`;
  }
}
