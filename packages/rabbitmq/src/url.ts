import { ConfigError, decodeUrlPart } from '@omnibus/core';

/** An AMQP URL split into what amqplib needs, what may be shown, and what must never be. */
export interface ParsedAmqpUrl {
  readonly protocol: 'amqp' | 'amqps';
  readonly hostname: string;
  readonly port: number;
  /** Undefined: the URL has no userinfo (amqplib's default guest/guest applies). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Percent-encoded, as amqplib unescapes it itself. */
  readonly vhost: string;
  readonly query: URLSearchParams;
  /** `amqp://user:***@host:port/vhost`, built from the parsed parts, never from the raw text. */
  readonly safeUrl: string;
  /** Every form the password may take in some text (raw, decoded, re-encoded): scrubbed everywhere. */
  readonly secrets: readonly string[];
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const EXPECTED = 'expected amqp://user:password@host:5672/vhost, with reserved characters of the password percent-encoded';

/**
 * Parse an AMQP URL without ever echoing it. The userinfo runs to the LAST `@`, so a password
 * that was not percent-encoded (`/`, `@`, `:`, `?`, `#`, space) still parses and connects: a
 * WHATWG parse of the whole text would end the authority at its `/`, `?` or `#` and show the
 * password as a host or path. An `@` in the vhost or query must therefore be encoded (`%40`).
 * Errors name the field and describe the problem; they never contain any part of the userinfo.
 */
export function parseAmqpUrl(url: string): ParsedAmqpUrl {
  const scheme = SCHEME.exec(url);
  if (!scheme) throw new ConfigError('url', `not a URL (${EXPECTED})`);
  const protocolName = (scheme[1] as string).toLowerCase();
  const protocol = protocolName === 'amqp' ? 'amqp' : protocolName === 'amqps' ? 'amqps' : undefined;
  if (!protocol) throw new ConfigError('url', `the scheme must be amqp:// or amqps://, got ${protocolName}://`);
  const afterScheme = scheme[2] as string;
  const at = afterScheme.lastIndexOf('@');
  // `amqp://@host` has no credentials either.
  const userinfo = at <= 0 ? undefined : afterScheme.slice(0, at);
  const location = at === -1 ? afterScheme : afterScheme.slice(at + 1);
  let parsed: URL;
  try {
    parsed = new URL(`${protocol}://${location}`);
  } catch {
    throw new ConfigError('url', `the host, port or vhost of the URL is not valid (${EXPECTED})`);
  }
  if (!parsed.hostname) throw new ConfigError('url', `the URL has no host (${EXPECTED})`);
  if (parsed.username || parsed.password) throw new ConfigError('url', `the URL has more than one userinfo part (${EXPECTED})`);
  if (parsed.hash) throw new ConfigError('url', `a "#" after the host is not allowed (${EXPECTED})`);

  let username: string | undefined;
  let password: string | undefined;
  const secrets: string[] = [];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon);
    const rawPassword = colon === -1 ? '' : userinfo.slice(colon + 1);
    username = decodeUrlPart(rawUser);
    password = decodeUrlPart(rawPassword);
    secrets.push(rawPassword, password, encodeURIComponent(password));
  }
  const port = parsed.port ? Number(parsed.port) : protocol === 'amqp' ? 5672 : 5671;
  const shownUser = username === undefined ? '' : `${encodeURIComponent(username)}:***@`;
  return {
    protocol,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    username,
    password,
    vhost: parsed.pathname.length > 1 ? parsed.pathname.slice(1) : '',
    query: parsed.searchParams,
    safeUrl: `${protocol}://${shownUser}${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`,
    secrets: [...new Set(secrets.filter((secret) => secret.length > 0))],
  };
}
