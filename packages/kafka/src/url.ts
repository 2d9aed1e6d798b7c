import { ConfigError, decodeUrlPart } from '@omnibus/core';
import type { SaslOptions } from './options.js';

/** What a `kafka://` / `kafkas://` URL says. */
export interface ParsedKafkaUrl {
  readonly brokers: readonly string[];
  readonly ssl: boolean;
  /** From `user:pass@`, with the mechanism of `?mechanism=` (default PLAIN). */
  readonly sasl: SaslOptions | undefined;
  /** Every form of the URL's credentials a text could carry (as typed, decoded, encoded), for redaction. */
  readonly secrets: readonly string[];
}

const SCHEME = /^(kafkas?):\/\//i;
// Not `new URL()`: a broker list (`h1:9092,h2:9092`) is not a valid URL authority.
const LOCATION = /^([^/?#]*)\/?(?:\?([^#]*))?$/;
const BROKER = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):\d{1,5}$/i;
const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
const DEFAULT_PORT = 9092;
const SHAPE = 'expected kafka://[user:password@]host:port[,host:port…][?mechanism=scram-sha-256|scram-sha-512], or kafkas:// for TLS';

/**
 * `kafka://host1:9092,host2:9092`, `kafkas://user:pass@host:9093?mechanism=scram-sha-512`.
 *
 * Robust against passwords that were not URL-encoded: the userinfo is everything before the
 * *last* `@` (nothing after the credentials may contain one), the password everything after
 * its first `:`, each part percent-decoded when that is valid and taken as typed otherwise
 * (`100%`). So `kafka://ann:p@ss/w#rd@host` means the password `p@ss/w#rd`.
 *
 * Errors name the `url` field and never show any part of the URL that could hold a secret:
 * no userinfo, no broker address that did not parse (a URL without `@` may still carry a
 * password there), no query value.
 */
export function parseKafkaUrl(url: string): ParsedKafkaUrl {
  const trimmed = url.trim();
  const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new ConfigError('url', `is not a Kafka URL: ${SHAPE}`);
  const rest = trimmed.slice(scheme.length + 3);
  const at = rest.lastIndexOf('@');
  const userInfo = at === -1 ? undefined : rest.slice(0, at);
  const location = LOCATION.exec(at === -1 ? rest : rest.slice(at + 1));
  if (!location) throw new ConfigError('url', `is not a Kafka URL (only a broker list and "?mechanism=" may follow the credentials): ${SHAPE}`);
  const [, hostList = '', query = ''] = location;

  const hosts = hostList
    .split(',')
    .map((host) => host.trim())
    .filter(Boolean);
  const brokers = hosts.map((host, index) => {
    const withPort = /:\d{1,5}$/.test(host) || /^\[.*\]:\d+$/.test(host) ? host : `${host}:${DEFAULT_PORT}`;
    if (!BROKER.test(withPort)) throw new ConfigError('url', `broker address ${index + 1} of ${hosts.length} is not host[:port]: ${SHAPE}`);
    return withPort;
  });

  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (name !== 'mechanism') {
      const shown = /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? ` "${name}"` : '';
      throw new ConfigError('url', `unknown query parameter${shown}: only "mechanism" is read from the URL; pass the rest as options`);
    }
  }
  const mechanism = (params.get('mechanism') ?? 'plain').toLowerCase();
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw new ConfigError('url', `"mechanism" must be one of ${MECHANISMS.join(', ')}`);

  const { sasl, secrets } = credentials(userInfo, mechanism as SaslOptions['mechanism']);
  return { brokers, ssl: scheme === 'kafkas', sasl, secrets };
}

function credentials(userInfo: string | undefined, mechanism: SaslOptions['mechanism']): Pick<ParsedKafkaUrl, 'sasl' | 'secrets'> {
  if (userInfo === undefined) return { sasl: undefined, secrets: [] };
  const colon = userInfo.indexOf(':');
  const rawUser = colon === -1 ? userInfo : userInfo.slice(0, colon);
  const rawPassword = colon === -1 ? '' : userInfo.slice(colon + 1);
  const username = decodeUrlPart(rawUser);
  if (!username) throw new ConfigError('url', 'the user name before ":" is empty');
  // Without a ":", the userinfo may be a token: a secret as well.
  const secrets = secretForms(rawPassword, colon === -1 ? rawUser : '');
  return { sasl: { mechanism, username, password: decodeUrlPart(rawPassword) }, secrets };
}

/** Every form of a secret a text could carry: as given, decoded, encoded. */
export function secretForms(...values: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const value of values) {
    if (!value) continue;
    const decoded = decodeUrlPart(value);
    for (const form of [value, decoded, encodeURIComponent(value), encodeURIComponent(decoded)]) forms.add(form);
  }
  return [...forms];
}
