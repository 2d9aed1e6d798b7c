import { describe, expect, it } from 'vitest';
import { ConfigError, silentLogger } from '@omnibus/core';
import { createTransport, parseSqsOptions, parseSqsUrl } from '../src/index.js';

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('sqs options', () => {
  it('has documented defaults', () => {
    const options = parseSqsOptions({});
    expect(options).toMatchObject({ prefix: 'omnibus-', waitTimeSeconds: 20, visibilityTimeoutSeconds: 30, pollers: 4, groupCacheMs: 1_000, publishTimeoutMs: 30_000, brokerMaxMessageBytes: 1_048_576 });
    expect(options.listingLagMs).toBeUndefined();
  });

  it.each([
    [{ prefiks: 'x' }, 'options.prefiks'],
    [{ prefix: 'has.dot' }, 'options.prefix'],
    [{ prefix: 'p'.repeat(25) }, 'options.prefix'],
    [{ waitTimeSeconds: 21 }, 'options.waitTimeSeconds'],
    [{ visibilityTimeoutSeconds: 1 }, 'options.visibilityTimeoutSeconds'],
    [{ visibilityTimeoutSeconds: 43_201 }, 'options.visibilityTimeoutSeconds'],
    [{ retentionSeconds: 30 }, 'options.retentionSeconds'],
    [{ reconnect: { initialDelayMs: 0 } }, 'options.reconnect.initialDelayMs'],
    [{ credentials: { accessKeyId: 'a' } }, 'options.credentials.secretAccessKey'],
    [{ credentials: { accessKeyId: 'a', secretAccessKey: 'b', extra: 1 } }, 'options.credentials.extra'],
  ])('refuses %j with a ConfigError naming %s', (input, field) => {
    expect(configErrorOf(() => parseSqsOptions(input)).field).toBe(field);
  });

  it('never echoes a secret value in an options error', () => {
    const error = configErrorOf(() => parseSqsOptions({ credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 42 } }));
    expect(error.field).toBe('options.credentials.secretAccessKey');
    expect(error.message).not.toContain('42');
  });

  it('createTransport validates options and URL before any request', () => {
    expect(configErrorOf(() => createTransport({ url: 'sqs://127.0.0.1:1', options: { pollers: 0 }, logger: silentLogger })).field).toBe('options.pollers');
    expect(configErrorOf(() => createTransport({ url: 'amqp://127.0.0.1', options: {}, logger: silentLogger })).field).toBe('url');
  });
});

describe('sqs URLs', () => {
  it('sqs:// without a host is Amazon SQS, the region from the URL or the SDK', () => {
    expect(parseSqsUrl('sqs://')).toMatchObject({ endpoint: undefined, region: undefined, accessKeyId: undefined });
    expect(parseSqsUrl('sqs://?region=eu-west-1')).toMatchObject({ endpoint: undefined, region: 'eu-west-1' });
  });

  it('a loopback host is plain HTTP, another host HTTPS, unless tls= says otherwise', () => {
    expect(parseSqsUrl('sqs://localhost:9324?region=elasticmq')).toMatchObject({ endpoint: 'http://localhost:9324', region: 'elasticmq' });
    expect(parseSqsUrl('sqs://127.0.0.1:9324').endpoint).toBe('http://127.0.0.1:9324');
    expect(parseSqsUrl('sqs://[::1]:9324').endpoint).toBe('http://[::1]:9324');
    expect(parseSqsUrl('sqs://sqs.internal:4566').endpoint).toBe('https://sqs.internal:4566');
    expect(parseSqsUrl('sqs://sqs.internal:4566?tls=false').endpoint).toBe('http://sqs.internal:4566');
    expect(parseSqsUrl('sqs://localhost:9324?tls=true').endpoint).toBe('https://localhost:9324');
  });

  it('takes ACCESS_KEY_ID:SECRET@ as static credentials and never shows them', () => {
    const url = parseSqsUrl('sqs://AKIDEXAMPLE:s3cr%2Fet+x@127.0.0.1:9324?region=elasticmq');
    expect(url).toMatchObject({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's3cr/et+x', display: 'sqs://***@127.0.0.1:9324?region=elasticmq' });
    expect(url.secrets).toContain('s3cr/et+x');
    expect(url.secrets).toContain('s3cr%2Fet+x');
  });

  it.each([
    ['redis://127.0.0.1', 'must start with sqs://'],
    ['sqs://127.0.0.1:9324?regoin=x', 'unknown parameter "regoin"'],
    ['sqs://127.0.0.1:9324?tls=yes', 'tls must be true or false'],
    ['sqs://127.0.0.1:9324/queue', 'a path'],
    ['sqs://?tls=false', 'needs a host'],
    ['sqs://onlyakey@127.0.0.1:9324', 'ACCESS_KEY_ID:SECRET_ACCESS_KEY'],
  ])('refuses %s with a ConfigError naming the url (%s)', (url, text) => {
    const error = configErrorOf(() => parseSqsUrl(url));
    expect(error.field).toBe('url');
    expect(error.message).toContain(text);
  });

  it('a bad URL with credentials names it without the secret', () => {
    const error = configErrorOf(() => parseSqsUrl('sqs://AKID:Kq7Zx9Wv5@127.0.0.1:9324?bogus=1'));
    expect(error.message).not.toContain('Kq7Zx9Wv5');
    expect(error.message).toContain('sqs://***@127.0.0.1:9324');
  });
});
