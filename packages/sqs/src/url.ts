import { ConfigError, secretForms, decodeUrlPart } from '@omnibus/core';

/**
 * An `sqs://` URL taken apart:
 * - `sqs://` (no host): Amazon SQS; the region comes from `?region=` or the SDK's chain.
 * - `sqs://host:port?region=…`: an SQS-compatible endpoint (ElasticMQ, LocalStack). Plain HTTP on
 *   a loopback host, HTTPS elsewhere; `tls=true|false` says so explicitly.
 * - `sqs://ACCESS_KEY_ID:SECRET@…`: static credentials (else options.credentials or the SDK's chain).
 */
export interface SqsUrl {
  /** `http(s)://host:port` of a custom endpoint; undefined for Amazon SQS itself. */
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** For errors and logs: the user info is never shown (`sqs://***@host:port?region=…`). */
  readonly display: string;
  /** Every form of the URL's secret a text could carry. */
  readonly secrets: readonly string[];
}

const USAGE = 'expected sqs://[host:port][?region=…&tls=true|false] (no host: Amazon SQS)';
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|::1)$/i;
const PARAMS = new Set(['region', 'tls']);

export function parseSqsUrl(url: string): SqsUrl {
  if (!/^sqs:\/\//i.test(url)) throw new ConfigError('url', `must start with sqs:// (${USAGE})`);
  const rest = url.slice('sqs://'.length);
  // The user info ends at the last `@` before the query (a secret key may hold `/` or `+`).
  const queryAt = rest.indexOf('?', rest.lastIndexOf('@') + 1);
  const beforeQuery = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rest.slice(queryAt + 1);
  const at = beforeQuery.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : beforeQuery.slice(0, at);
  const location = at === -1 ? beforeQuery : beforeQuery.slice(at + 1);
  const display = `sqs://${userinfo === undefined ? '' : '***@'}${location}${query ? `?${query.split('&').filter((pair) => PARAMS.has(pair.split('=')[0] ?? '')).join('&')}` : ''}`;

  let accessKeyId: string | undefined;
  let secretAccessKey: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon <= 0 || colon === userinfo.length - 1) throw new ConfigError('url', `"${display}": credentials in the URL are ACCESS_KEY_ID:SECRET_ACCESS_KEY@`);
    accessKeyId = decodeUrlPart(userinfo.slice(0, colon));
    secretAccessKey = decodeUrlPart(userinfo.slice(colon + 1));
  }

  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (!PARAMS.has(name)) throw new ConfigError('url', `"${display}": unknown parameter "${name}" (${USAGE})`);
  }
  const region = params.get('region') || undefined;
  const tlsParam = params.get('tls');
  if (tlsParam !== null && tlsParam !== 'true' && tlsParam !== 'false') throw new ConfigError('url', `"${display}": tls must be true or false`);

  let endpoint: string | undefined;
  if (location.replace(/\/$/, '') !== '') {
    let parsed: URL;
    try {
      parsed = new URL(`http://${location}`);
    } catch {
      throw new ConfigError('url', `"${display}" is not a valid URL (${USAGE})`);
    }
    if (parsed.pathname !== '/' || parsed.hash !== '') throw new ConfigError('url', `"${display}": a path or fragment is not supported (${USAGE})`);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const tls = tlsParam === null ? !LOOPBACK.test(host) : tlsParam === 'true';
    endpoint = `${tls ? 'https' : 'http'}://${parsed.host}`;
  } else if (tlsParam === 'false') {
    throw new ConfigError('url', `"${display}": tls=false needs a host (Amazon SQS itself is HTTPS only)`);
  }
  return { endpoint, region, accessKeyId, secretAccessKey, display, secrets: userinfo === undefined ? [] : [...new Set([...secretForms(userinfo.slice(userinfo.indexOf(':') + 1)), ...secretForms(secretAccessKey ?? '')])] };
}
