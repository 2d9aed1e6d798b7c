import { describe, expect, it } from 'vitest';
import { ConfigError, silentLogger } from '@omnibus/core';
import { createTransport, parseAmqp10Url } from '../src/index.js';
import { resolveConfig } from '../src/options.js';

const refusal = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

describe('amqp10 URL', () => {
  it('parses host, port, credentials and TLS, with AMQP default ports', () => {
    expect(parseAmqp10Url('amqp10://app:secret@broker.internal:5673')).toMatchObject({ tls: false, hostname: 'broker.internal', port: 5673, username: 'app', password: 'secret', safeUrl: 'amqp10://app:***@broker.internal:5673' });
    expect(parseAmqp10Url('amqp10://broker')).toMatchObject({ port: 5672, username: undefined, safeUrl: 'amqp10://broker' });
    expect(parseAmqp10Url('AMQP10S://u:p@[::1]')).toMatchObject({ tls: true, hostname: '::1', port: 5671 });
  });

  it('takes a password that was not percent-encoded, up to the last @, and decodes one that was', () => {
    expect(parseAmqp10Url('amqp10://app:p@ss/w#rd?x@host:1')).toMatchObject({ username: 'app', password: 'p@ss/w#rd?x', hostname: 'host', port: 1 });
    expect(parseAmqp10Url('amqp10://app:p%40ss@host').password).toBe('p@ss');
    expect(parseAmqp10Url('amqp10://app:50%off@host').password).toBe('50%off');
  });

  it('refuses other schemes, paths and queries with a ConfigError on url that never shows the password', () => {
    const secret = 'Sup3r-s3cret';
    for (const url of [`amqp://app:${secret}@host`, `amqp10://app:${secret}@host/vhost`, `amqp10://app:${secret}@host?x=1`, `amqp10://app:${secret}@`, `amqp10://app:${secret}@host:99999`]) {
      const error = refusal(() => parseAmqp10Url(url));
      expect(error.field).toBe('url');
      expect(`${error.message} ${String(error.stack)}`).not.toContain(secret);
    }
  });
});

describe('amqp10 options', () => {
  it('applies the documented defaults', () => {
    const { options } = resolveConfig('amqp10://a:b@h:5673', {});
    expect(options).toMatchObject({ prefix: '', connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, reconnect: { initialDelayMs: 100, maxDelayMs: 10_000 }, publishTimeoutMs: 30_000, closeTimeoutMs: 5_000, maxMessageBytes: 4 * 1024 * 1024 });
  });

  it('names the field of a wrong, misspelled or contradictory option', () => {
    expect(refusal(() => resolveConfig('amqp10://h', { prefix: 'a/b' })).field).toBe('options.prefix');
    expect(refusal(() => resolveConfig('amqp10://h', { publishTimeoutMs: 5 })).field).toBe('options.publishTimeoutMs');
    expect(refusal(() => resolveConfig('amqp10://h', { publishTimeoutMS: 500 })).field).toBe('options.publishTimeoutMS');
    expect(refusal(() => resolveConfig('amqp10://h', { reconnect: { initialDelayMs: 0 } })).field).toBe('options.reconnect.initialDelayMs');
    expect(refusal(() => resolveConfig('amqp10://h', { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } })).field).toBe('options.reconnect.maxDelayMs');
    expect(refusal(() => resolveConfig('amqp10://h', { tls: { rejectUnauthorized: false } })).field).toBe('options.tls');
    expect(refusal(() => resolveConfig('amqp10://h', { maxMessageBytes: 1 })).field).toBe('options.maxMessageBytes');
  });

  it('declares its maxMessageBytes option as the capability, and keeps the TLS passphrase among the secrets', () => {
    const transport = createTransport({ url: 'amqp10://h', options: { maxMessageBytes: 1024 * 1024 }, logger: silentLogger });
    expect(transport.capabilities.maxMessageBytes).toBe(1024 * 1024);
    expect(resolveConfig('amqp10s://u:pw1@h', { tls: { passphrase: 'keypass' } }).secrets).toEqual(expect.arrayContaining(['pw1', 'keypass']));
  });
});
