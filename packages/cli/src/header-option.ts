import { UsageError } from './exit-codes.js';

/** `--header name=value`, repeatable; the value may contain `=`. */
export function parseHeaders(pairs: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--header ${JSON.stringify(pair)}: write it as name=value (e.g. --header traceparent=00-...)`);
    headers[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return headers;
}
