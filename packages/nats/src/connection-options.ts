import { readFileSync } from 'node:fs';
import { ConfigError, decodeUrlPart } from '@omnibus/core';
import { credsAuthenticator, nkeyAuthenticator, type Authenticator, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { NatsOptions } from './options.js';

/** What the transport needs to connect: client options plus the secrets to redact from any text. */
export interface ResolvedConnection {
  readonly options: NodeConnectionOptions;
  /** `host:port` of every server, for logs (never with credentials). */
  readonly servers: readonly string[];
  readonly secrets: readonly string[];
}

/**
 * Build the nats.js connection options from the URL and the options. Credentials are
 * taken out of the URL and passed as separate options, so no server address handed
 * to the client (and echoed in its errors) ever contains them.
 */
export function resolveConnection(url: string, options: NatsOptions): ResolvedConnection {
  const fromUrl = parseServerUrl(url);
  const servers = [fromUrl.server, ...options.servers.map((s) => parseServerUrl(s, 'options.servers').server)];
  const secrets: string[] = [];

  const user = options.user ?? fromUrl.user;
  const password = options.password ?? fromUrl.password;
  const token = options.token ?? fromUrl.token;
  for (const secret of [password, token, options.nkeySeed]) if (secret) secrets.push(secret);

  const authenticators: Authenticator[] = [];
  if (options.credsFile) authenticators.push(credsAuthenticator(readSecretFile(options.credsFile, 'options.credsFile')));
  const seed = options.nkeySeed ?? (options.nkeySeedFile ? new TextDecoder().decode(readSecretFile(options.nkeySeedFile, 'options.nkeySeedFile')).trim() : undefined);
  if (seed) {
    secrets.push(seed);
    authenticators.push(nkeyAuthenticator(new TextEncoder().encode(seed)));
  }

  const tlsWanted = fromUrl.tls || (options.tls !== undefined && options.tls !== false);
  const tlsFiles = typeof options.tls === 'object' ? options.tls : {};

  const clientOptions: NodeConnectionOptions = {
    servers,
    ...(options.name === undefined ? {} : { name: options.name }),
    timeout: options.connectTimeoutMs,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectTimeWaitMs,
    pingInterval: options.pingIntervalMs,
    maxPingOut: 2,
    waitOnFirstConnect: false,
    // Otherwise nats.js captures a stack trace (an Error) for every request and its timer:
    // every publish is a request (PubAck), and that was the largest cost of publishing after
    // the socket writes. Errors keep their class and message; the transport wraps them anyway.
    noAsyncTraces: true,
    ...(user !== undefined ? { user, pass: password ?? '' } : {}),
    ...(token !== undefined && user === undefined ? { token } : {}),
    ...(authenticators.length > 0 ? { authenticator: authenticators } : {}),
    ...(tlsWanted ? { tls: definedOnly(tlsFiles) } : {}),
  };
  return { options: clientOptions, servers, secrets };
}

/** The entries that are set (nats.js' TLS options have no `undefined` in their types). */
function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

interface ParsedServer {
  readonly server: string;
  readonly tls: boolean;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  readonly token?: string | undefined;
}

/**
 * `nats://[user:pass@ | token@]host[:port]` or `tls://…` (or a bare `host:port`).
 * NATS convention: a user name without password is a token.
 *
 * The raw text never reaches an error: it may hold a password the URL parser could not
 * separate (an unencoded `/`, `?`, `#` or `@` in it), and the parser's TypeError carries
 * the whole input (`cause.input`). Errors show the URL with everything before the last `@`
 * masked, and their cause is a TypeError of our own without the input.
 */
function parseServerUrl(raw: string, field = 'url'): ParsedServer {
  const text = raw.includes('://') ? raw : `nats://${raw}`;
  const shown = maskedUrl(text);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new ConfigError(field, `"${shown}" is not a NATS URL (nats://[user:password@]host[:port] or tls://…)${CREDENTIALS_HINT}`, {
      cause: new TypeError('Invalid URL (the input is not kept: it may hold credentials)'),
    });
  }
  const scheme = parsed.protocol.toLowerCase();
  if (scheme !== 'nats:' && scheme !== 'tls:') {
    throw new ConfigError(field, `"${shown}": the scheme must be nats:// or tls://`);
  }
  if (!parsed.hostname) throw new ConfigError(field, `"${shown}" names no host`);
  // A NATS URL has nothing after host:port. Something there is most often the rest of a password
  // with an unencoded "/", "?" or "#", and host:port would be a piece of it.
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(field, `"${shown}": a NATS URL has no path, query or fragment${CREDENTIALS_HINT}`);
  }
  const host = parsed.hostname;
  const server = `${host}:${parsed.port || '4222'}`;
  const user = parsed.username ? decodeUrlPart(parsed.username) : undefined;
  const password = parsed.password ? decodeUrlPart(parsed.password) : undefined;
  const isToken = user !== undefined && password === undefined;
  return {
    server,
    tls: scheme === 'tls:',
    user: isToken ? undefined : user,
    password,
    token: isToken ? user : undefined,
  };
}

const CREDENTIALS_HINT = '; percent-encode "/ ? # @ : %" and spaces in the user name and password (encodeURIComponent), or pass them as options.user / options.password';

/**
 * `scheme://***@<after the last @>`: nothing of the credentials, whatever characters they
 * hold. Without an `@`, what follows the first `:` is masked too (`nats://user:pass` with
 * the host forgotten would otherwise show the password as a port).
 */
function maskedUrl(text: string): string {
  const start = text.indexOf('://') + 3;
  const at = text.lastIndexOf('@');
  if (at >= start) return `${text.slice(0, start)}***${text.slice(at)}`;
  const colon = text.indexOf(':', start);
  return colon === -1 || /^:\d*\/?$/.test(text.slice(colon)) ? text : `${text.slice(0, colon)}:***`;
}


function readSecretFile(path: string, field: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    // The error names the path, never the content.
    const code = (cause as { code?: string }).code ?? 'unreadable';
    throw new ConfigError(field, `cannot read the file (${code})`, { cause });
  }
}
