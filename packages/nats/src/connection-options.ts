import { readFileSync } from 'node:fs';
import { ConfigError, redactUrl } from '@omnibus/core';
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
    name: options.name,
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
    ...(tlsWanted ? { tls: { ...tlsFiles } } : {}),
  };
  return { options: clientOptions, servers, secrets };
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
 */
function parseServerUrl(raw: string, field = 'url'): ParsedServer {
  const text = raw.includes('://') ? raw : `nats://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch (cause) {
    throw new ConfigError(field, `"${redactUrl(raw)}" is not a NATS URL (nats://host:port or tls://host:port)`, { cause });
  }
  const scheme = parsed.protocol.toLowerCase();
  if (scheme !== 'nats:' && scheme !== 'tls:') {
    throw new ConfigError(field, `"${redactUrl(raw)}": the scheme must be nats:// or tls://`);
  }
  if (!parsed.hostname) throw new ConfigError(field, `"${redactUrl(raw)}" names no host`);
  const host = parsed.hostname;
  const server = `${host}:${parsed.port || '4222'}`;
  const user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  const isToken = user !== undefined && password === undefined;
  return {
    server,
    tls: scheme === 'tls:',
    user: isToken ? undefined : user,
    password,
    token: isToken ? user : undefined,
  };
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
