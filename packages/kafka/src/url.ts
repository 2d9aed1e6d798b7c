import { ConfigError, redactUrl } from '@omnibus/core';
import type { SaslOptions } from './options.js';

/** What a `kafka://` / `kafkas://` URL says. */
export interface ParsedKafkaUrl {
  readonly brokers: readonly string[];
  readonly ssl: boolean;
  /** From `user:pass@`, with the mechanism of `?mechanism=` (default PLAIN). */
  readonly sasl: SaslOptions | undefined;
}

// Not `new URL()`: a broker list (`h1:9092,h2:9092`) is not a valid URL authority.
const URL_SHAPE = /^(kafkas?):\/\/(?:([^@/?#]*)@)?([^/?#]*)\/?(?:\?([^#]*))?$/i;
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
const DEFAULT_PORT = 9092;

/**
 * `kafka://host1:9092,host2:9092`, `kafkas://user:pass@host:9093?mechanism=scram-sha-512`.
 * Errors name the `url` field and show the URL with its password redacted.
 */
export function parseKafkaUrl(url: string): ParsedKafkaUrl {
  const match = URL_SHAPE.exec(url.trim());
  if (!match) throw new ConfigError('url', `"${redactUrl(url)}" is not a Kafka URL: expected kafka://host:port[,host:port…] or kafkas://…`);
  const [, scheme = 'kafka', userInfo, hostList = '', query = ''] = match;
  const brokers = hostList
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean)
    .map((host) => {
      const withPort = /:\d{1,5}$/.test(host) || /^\[.*\]:\d+$/.test(host) ? host : `${host}:${DEFAULT_PORT}`;
      if (!/^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i.test(withPort)) {
        throw new ConfigError('url', `"${redactUrl(url)}" has an invalid broker address "${host}"`);
      }
      return withPort;
    });

  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (name !== 'mechanism') throw new ConfigError('url', `"${redactUrl(url)}": unknown query parameter "${name}" (only "mechanism" is read from the URL; pass the rest as options)`);
  }
  const mechanism = (params.get('mechanism') ?? 'plain').toLowerCase();
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw new ConfigError('url', `"${redactUrl(url)}": mechanism must be one of ${MECHANISMS.join(', ')}`);
  }

  let sasl: SaslOptions | undefined;
  if (userInfo) {
    const colon = userInfo.indexOf(':');
    const username = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), url);
    const password = colon === -1 ? '' : decode(userInfo.slice(colon + 1), url);
    if (!username) throw new ConfigError('url', `"${redactUrl(url)}": empty user name`);
    sasl = { mechanism: mechanism as SaslOptions['mechanism'], username, password };
  }
  return { brokers, ssl: scheme.toLowerCase() === 'kafkas', sasl };
}

function decode(part: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('url', `"${redactUrl(url)}": invalid percent-encoding in the credentials`);
  }
}
