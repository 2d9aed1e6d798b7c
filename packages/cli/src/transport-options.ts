import { UsageError } from './exit-codes.js';

/**
 * `--option name=value`, repeatable: transport options (see the transport's README), e.g.
 * `--option prefix=staging.` or `--option partitions=6`. A value that parses as JSON is taken
 * as JSON (numbers, booleans, objects), any other value as a string; a dotted name sets a
 * nested field (`--option tls.caFile=ca.pem`).
 */
export function parseTransportOptions(pairs: readonly string[]): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--option ${JSON.stringify(pair)}: write it as name=value (e.g. --option prefix=staging.)`);
    const path = pair.slice(0, equals).split('.');
    if (path.some((part) => part === '' || part === '__proto__' || part === 'constructor' || part === 'prototype')) {
      throw new UsageError(`--option ${JSON.stringify(pair)}: "${pair.slice(0, equals)}" is not an option name`);
    }
    let target = options;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next as Record<string, unknown>;
      else target = target[part] = {};
    }
    target[path[path.length - 1] as string] = jsonOrString(pair.slice(equals + 1));
  }
  return options;
}

function jsonOrString(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
