/**
 * Finding the secrets of a bus configuration, so that they can be scrubbed from every error and
 * log line (see redact.ts). Nothing here may throw or rely on the WHATWG URL parser: the URLs
 * that matter most are the ones it refuses (an unencoded `/`, `@`, `#`, `?` or space in a password).
 *
 * The rule for a URL's credentials: the userinfo starts after `scheme://` and ends at an `@`. A
 * host never contains `@`, so the LAST `@` of the URL surely ends it, whatever the password holds
 * (`/ @ : ? # %`, spaces, unicode). An `@` in a path or query would make that guess too long, so
 * every earlier `@` is a candidate end as well: each candidate's password (after the userinfo's
 * first `:`; a user name holds no `:`) is a secret. Scrubbing a fragment of a password, or a path
 * that followed it, is harmless; printing a password is not. A userinfo without `:` is a token
 * (`nats://token@host`) and is a secret as a whole.
 */

/** Option names whose string values are secrets, wherever they are nested. */
const SECRET_NAME = /pass|pwd|secret|token|credential|auth|sasl|private|key$|^key|cert|pem|pfx|nkey|seed|jwt|signature|cookie|bearer/i;
/** Inside a secret-named object (`sasl`, `credentials`, `tls`...), these name what is not secret. */
const PUBLIC_NAME = /^(mechanism|user|username|type|kind|name|host|hostname|port|servername|authorizationidentity|ca|rejectunauthorized)$/i;

const MAX_DEPTH = 6;
const MAX_VALUES = 1_000;

/** Every secret of a createBus config (or of any URL and options): URL credentials and secret-named option values. */
export function secretsOf(config: unknown): string[] {
  const secrets = new Set<string>();
  if (typeof config === 'string') {
    for (const secret of urlSecrets(config)) secrets.add(secret);
    return [...secrets];
  }
  const fields = typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : {};
  const url = safeRead(fields, 'url');
  if (typeof url === 'string') for (const secret of urlSecrets(url)) secrets.add(secret);
  for (const secret of optionSecrets(safeRead(fields, 'options'))) secrets.add(secret);
  return [...secrets];
}

/** The secrets written into a URL: its password (or token) and secret-named query parameters. Never throws. */
export function urlSecrets(url: string): string[] {
  const secrets: string[] = [];
  const start = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const rest = start ? url.slice(start[0].length) : '';
  const lastAt = rest.lastIndexOf('@');
  for (let at = rest.indexOf('@'); at !== -1; at = rest.indexOf('@', at + 1)) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon !== -1) secrets.push(userinfo.slice(colon + 1));
    else if (at === lastAt) secrets.push(userinfo);
  }
  // Query parameters after the host (past the last `@`), e.g. `?password=…`, `?token=…`.
  const afterHost = rest.slice(lastAt + 1);
  const query = afterHost.indexOf('?');
  if (query !== -1) {
    for (const pair of afterHost.slice(query + 1).split('#')[0]?.split('&') ?? []) {
      const equals = pair.indexOf('=');
      if (equals > 0 && SECRET_NAME.test(pair.slice(0, equals))) secrets.push(pair.slice(equals + 1));
    }
  }
  return secrets.filter((secret) => secret.length > 0);
}

/**
 * Secret-named values of transport options (`password`, `token`, `sasl.*`, `tls.key`...), at any
 * depth: strings, bytes (as UTF-8) and URLs found anywhere (their credentials). Never throws.
 */
export function optionSecrets(options: unknown): string[] {
  const secrets: string[] = [];
  const seen = new Set<object>();
  let visited = 0;
  const visit = (value: unknown, secretContext: boolean, name: string, depth: number): void => {
    visited += 1;
    if (visited > MAX_VALUES || depth > MAX_DEPTH) return;
    const secret = secretContext ? !PUBLIC_NAME.test(name) : SECRET_NAME.test(name);
    if (typeof value === 'string') {
      if (secret) secrets.push(value);
      if (value.includes('://')) secrets.push(...urlSecrets(value));
      return;
    }
    if (value instanceof Uint8Array) {
      if (secret && value.byteLength <= 64 * 1024) secrets.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
      return;
    }
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    const inner = secretContext || SECRET_NAME.test(name);
    if (Array.isArray(value)) {
      value.forEach((item) => visit(item, inner, name, depth + 1));
      return;
    }
    if (!isPlainObject(value)) return;
    for (const key of Object.keys(value)) visit(safeRead(value, key), inner, key, depth + 1);
  };
  visit(options, false, '', 0);
  return secrets.filter((secret) => secret.length > 0);
}

export function isPlainObject(value: object): value is Record<string, unknown> {
  try {
    const proto = Object.getPrototypeOf(value) as unknown;
    return proto === Object.prototype || proto === null;
  } catch {
    return false;
  }
}

function safeRead(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** Percent-decode what decodes (valid UTF-8 `%XX` runs), leave the rest as written (`p%zz` stays). */
export function lenientDecode(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** How the WHATWG URL parser stores `text` as a password (its userinfo percent-encode set; `%` kept). */
function whatwgPassword(text: string): string {
  try {
    const url = new URL('http://host');
    url.password = text;
    return url.password;
  } catch {
    return text;
  }
}

/**
 * Every form in which a secret may be printed: as written, percent-decoded, percent-encoded
 * (upper and lower case hex, form encoding with `+`), as the WHATWG URL parser normalises it,
 * and JSON-escaped (a log line is usually JSON).
 */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>();
  for (const text of new Set([secret, lenientDecode(secret)])) {
    const encoded = encodeURIComponent(text);
    forms.add(text);
    forms.add(encoded);
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()));
    forms.add(new URLSearchParams({ s: text }).toString().slice(2));
    forms.add(whatwgPassword(text));
  }
  for (const form of [...forms]) forms.add(JSON.stringify(form).slice(1, -1));
  return [...forms];
}
