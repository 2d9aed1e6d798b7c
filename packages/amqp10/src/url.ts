import { ConfigError, decodeUrlPart } from '@omnibus/core';

/** An `amqp10://` URL split into what the client needs, what may be shown, and what must never be. */
export interface ParsedAmqp10Url {
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  /** Undefined: the URL has no userinfo (SASL ANONYMOUS, which a broker with anonymous off refuses). */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** `amqp10://user:***@host:port`, built from the parsed parts, never from the raw text. */
  readonly safeUrl: string;
  /** Every form the password may take in some text (raw, decoded, re-encoded): scrubbed everywhere. */
  readonly secrets: readonly string[];
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const EXPECTED = 'expected amqp10://user:password@host:5673 (amqp10s:// for TLS), with reserved characters of the password percent-encoded';

/** AMQP 1.0's IANA ports: 5672 plain, 5671 TLS (Artemis' default acceptor listens on 5672 too). */
const DEFAULT_PORT = { plain: 5672, tls: 5671 } as const;

/**
 * Parse an AMQP 1.0 URL without ever echoing it. The userinfo runs to the LAST `@`, so a password
 * that was not percent-encoded (`/`, `@`, `:`, `?`, `#`) still parses: a WHATWG parse of the whole
 * text would end the authority at such a character and show the rest as a host or path. Errors
 * name the field and describe the problem; they never contain any part of the userinfo.
 */
export function parseAmqp10Url(url: string): ParsedAmqp10Url {
  const scheme = SCHEME.exec(url);
  if (!scheme) throw new ConfigError('url', `not a URL (${EXPECTED})`);
  const name = (scheme[1] as string).toLowerCase();
  if (name !== 'amqp10' && name !== 'amqp10s') throw new ConfigError('url', `the scheme must be amqp10:// or amqp10s://, got ${name}://`);
  const tls = name === 'amqp10s';
  const afterScheme = scheme[2] as string;
  const at = afterScheme.lastIndexOf('@');
  const userinfo = at <= 0 ? undefined : afterScheme.slice(0, at);
  const location = at === -1 ? afterScheme : afterScheme.slice(at + 1);
  let parsed: URL;
  try {
    parsed = new URL(`${name}://${location}`);
  } catch {
    throw new ConfigError('url', `the host or port of the URL is not valid (${EXPECTED})`);
  }
  if (!parsed.hostname) throw new ConfigError('url', `the URL has no host (${EXPECTED})`);
  if (parsed.username || parsed.password) throw new ConfigError('url', `the URL has more than one userinfo part (${EXPECTED})`);
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search || parsed.hash) {
    throw new ConfigError('url', `a path, query or "#" after the host is not used by AMQP 1.0 and not allowed (${EXPECTED})`);
  }
  let username: string | undefined;
  let password: string | undefined;
  const secrets: string[] = [];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decodeUrlPart(colon === -1 ? userinfo : userinfo.slice(0, colon));
    const rawPassword = colon === -1 ? '' : userinfo.slice(colon + 1);
    password = decodeUrlPart(rawPassword);
    secrets.push(rawPassword, password, encodeURIComponent(password));
  }
  const port = parsed.port ? Number(parsed.port) : tls ? DEFAULT_PORT.tls : DEFAULT_PORT.plain;
  const shownUser = username === undefined ? '' : `${encodeURIComponent(username)}:***@`;
  return {
    tls,
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    username,
    password,
    safeUrl: `${name}://${shownUser}${parsed.host}`,
    secrets: [...new Set(secrets.filter((secret) => secret.length > 0))],
  };
}
