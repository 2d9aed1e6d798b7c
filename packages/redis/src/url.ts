import { ConfigError, secretForms as coreSecretForms, decodeUrlPart } from '@omnibus/core';

/** A `redis://` or `rediss://` URL, taken apart without ever putting its password into a text. */
export interface RedisUrl {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  /** The path's database number; undefined when the URL has no path. */
  readonly db: number | undefined;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The URL for errors and logs: `redis://user:***@host:port/db` (the userinfo is never copied whole). */
  readonly display: string;
  /** Every form of the URL's secret a text could carry: as typed, decoded, encoded. */
  readonly secrets: readonly string[];
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Parse a Redis URL robustly against passwords that were not URL-encoded: the userinfo is
 * everything before the *last* `@` (a Redis URL has no other place for one), the password
 * everything after the first `:` of it. So `redis://default:p@ss/w#rd@host` means the password
 * `p@ss/w#rd` (WHATWG URL parsing would cut it at `/` or `#` and show the rest as the host).
 * Each part is percent-decoded when it is valid percent-encoding and taken as typed otherwise
 * (`100%`). Errors name the URL only through `display`.
 */
export function parseRedisUrl(url: string): RedisUrl {
  const scheme = SCHEME.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) throw new ConfigError('url', 'is not a URL: expected redis://[user:password@]host[:port][/db] (or rediss:// for TLS)');
  const rest = url.slice(url.indexOf('://') + 3);
  const at = rest.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : rest.slice(0, at);
  const location = at === -1 ? rest : rest.slice(at + 1);
  const { username, password, shown, secrets } = credentials(userinfo);
  const display = `${scheme}://${shown}${location}`;

  if (scheme !== 'redis' && scheme !== 'rediss') throw new ConfigError('url', `"${display}" must start with redis:// or rediss://`);
  let parsed: URL;
  try {
    // Only the part after the credentials is handed to the URL parser (and to its error messages).
    parsed = new URL(`${scheme}://${location}`);
  } catch {
    throw new ConfigError('url', `"${display}" is not a valid URL (expected redis://[user:password@]host[:port][/db])`);
  }
  if (parsed.search !== '' || parsed.hash !== '' || location.includes('?') || location.includes('#')) {
    throw new ConfigError('url', `"${display}": query parameters and fragments are not supported (give options instead; a password with "?" or "#" must be URL-encoded or given as options.password)`);
  }
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) throw new ConfigError('url', `"${display}": the path must be a database number`);
  return {
    tls: scheme === 'rediss',
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db: path === '' ? undefined : Number(path),
    username,
    password,
    display,
    secrets,
  };
}

/** Every form in which these secrets may be printed (core's secretForms, for each one given). */
export function secretForms(...values: (string | undefined)[]): string[] {
  return [...new Set(values.flatMap((value) => (value ? coreSecretForms(value) : [])))];
}

interface Credentials {
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** What `display` shows of the userinfo: `user:***@`, `***@` or nothing. */
  readonly shown: string;
  readonly secrets: string[];
}

function credentials(userinfo: string | undefined): Credentials {
  if (userinfo === undefined) return { username: undefined, password: undefined, shown: '', secrets: [] };
  const colon = userinfo.indexOf(':');
  if (colon === -1) {
    // `redis://something@host`: a user name to Redis, but it may be a token: never shown.
    return { username: nonEmpty(decodeUrlPart(userinfo)), password: undefined, shown: '***@', secrets: secretForms(userinfo) };
  }
  const rawUser = userinfo.slice(0, colon);
  const rawPassword = userinfo.slice(colon + 1);
  // The user name is shown as a user name only when it is one: no character a password could have spilled into.
  const shownUser = /^[A-Za-z0-9._~%-]*$/.test(rawUser) ? rawUser : '***';
  return { username: nonEmpty(decodeUrlPart(rawUser)), password: nonEmpty(decodeUrlPart(rawPassword)), shown: `${shownUser}:***@`, secrets: secretForms(rawPassword) };
}


function nonEmpty(value: string): string | undefined {
  return value === '' ? undefined : value;
}
