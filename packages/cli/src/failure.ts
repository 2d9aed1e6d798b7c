import { isOmnibusError, safeString } from '@omnibus/core';
import type { BrokerUrl } from './broker-url.js';

/**
 * An error as the CLI prints it: the message, the messages along its `cause` chain (the broker's
 * own words are usually there) and what to do, every part scrubbed of the URL's secrets. No
 * stack: a stack is for bug reports (--verbose prints it).
 */
export function describeFailure(error: unknown, url: BrokerUrl | undefined, verbose: boolean): string {
  const scrub = (text: string) => (url ? url.scrub(text) : text);
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 6; depth += 1) {
    const message = current instanceof Error ? `${current.name === 'Error' || depth === 0 ? '' : `${current.name}: `}${current.message}` : safeString(current);
    if (message && !lines.some((line) => line.includes(message))) lines.push(depth === 0 ? message : `  caused by: ${message}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  const hint = hintFor(error, url);
  if (hint) lines.push(`  ${hint}`);
  if (verbose && error instanceof Error && error.stack) lines.push(error.stack);
  return scrub(lines.join('\n'));
}

function hintFor(error: unknown, url: BrokerUrl | undefined): string | undefined {
  const where = url ? ` at ${url.shown}` : '';
  if (isOmnibusError(error, 'CONNECTION_FAILED')) return `check that the broker runs${where} and that the credentials are right`;
  if (isOmnibusError(error, 'TRANSPORT_NOT_INSTALLED')) return 'install the transport package next to @omnibus/cli';
  if (isOmnibusError(error, 'TIMEOUT')) return `the broker${where} did not answer in time`;
  return undefined;
}
