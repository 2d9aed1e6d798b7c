import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError, type Logger } from '@omnibus/core';
import { describeWithBroker, freePort, startRedis, type PrivateBroker } from '@omnibus/test-support';
import { connectionSettings } from '../src/connection.js';
import { parseRedisOptions } from '../src/index.js';
import { makeCertificates, type TestCertificates } from './helpers/certificates.js';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

/** A logger that keeps every line, to prove no secret reaches a log. */
function recordingLogger(): Logger & { readonly lines: string[] } {
  const lines: string[] = [];
  const log = (...args: unknown[]) => {
    lines.push(JSON.stringify(args, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value)));
  };
  return { lines, debug: log, info: log, warn: log, error: log };
}

describe('redis transport: options', () => {
  it('names the bad field in a ConfigError', () => {
    expect(() => parseRedisOptions({ blockMs: -1 })).toThrow(ConfigError);
    expect(() => parseRedisOptions({ blockMs: -1 })).toThrow(expect.objectContaining({ field: 'options.blockMs' }));
    expect(() => parseRedisOptions({ trim: { maxLen: 'many' } })).toThrow(expect.objectContaining({ field: 'options.trim.maxLen' }));
    expect(() => parseRedisOptions({ blokMs: 5 })).toThrow(/blokMs/);
  });

  it('names the reconnect backoff as RabbitMQ does, and still takes its former name', () => {
    expect(parseRedisOptions({}).reconnect).toEqual({ initialDelayMs: 100, maxDelayMs: 5_000 });
    expect(parseRedisOptions({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } }).reconnect).toEqual({ initialDelayMs: 20, maxDelayMs: 200 });
    expect(parseRedisOptions({ reconnect: { minDelayMs: 30 } }).reconnect).toEqual({ initialDelayMs: 30, maxDelayMs: 5_000 });
    expect(() => parseRedisOptions({ reconnect: { initialDelayMs: 20, minDelayMs: 30 } })).toThrow(expect.objectContaining({ field: 'options.reconnect.minDelayMs' }));
  });

  it('documents its defaults', () => {
    expect(parseRedisOptions({})).toMatchObject({ prefix: 'omnibus:', blockMs: 2_000, claimIdleMs: 30_000, trim: { intervalMs: 60_000 } });
  });

  it('rejects URLs that are not redis:// or rediss://, without echoing credentials', () => {
    const error = (() => {
      try {
        connectionSettings('amqp://user:hunter22@host', parseRedisOptions({}));
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('url');
    expect((error as Error).message).not.toContain('hunter22');
    expect(() => connectionSettings('redis://host/not-a-db', parseRedisOptions({}))).toThrow(ConfigError);
  });

  it('takes credentials, database and TLS from the URL, and lets options override them', () => {
    const fromUrl = connectionSettings('rediss://alice:p%40ss@cache.example:6380/3', parseRedisOptions({}));
    expect(fromUrl.ioredis).toMatchObject({ host: 'cache.example', port: 6380, db: 3, username: 'alice', password: 'p@ss', tls: {} });
    expect(fromUrl.display).toBe('rediss://alice:***@cache.example:6380/3');
    expect(fromUrl.secrets).toContain('p@ss');

    const overridden = connectionSettings('redis://alice:old@cache.example/3', parseRedisOptions({ username: 'bob', password: 'new', db: 1, tls: { rejectUnauthorized: false } }));
    expect(overridden.ioredis).toMatchObject({ username: 'bob', password: 'new', db: 1, tls: { rejectUnauthorized: false } });
    expect(connectionSettings('redis://127.0.0.1', parseRedisOptions({})).ioredis.tls).toBeUndefined();
  });
});

describeWithBroker('redis', 'redis transport: connections', () => {
  describe('authentication (private redis-server with a password and an ACL user)', () => {
    let server: PrivateBroker;
    let harness: Harness;
    beforeAll(async () => {
      server = await startRedis({ password: 'admin-s3cret' });
      harness = new Harness(server.url);
      await harness.redis().call('ACL', 'SETUSER', 'alice', 'on', '>alice-s3cret', '~*', '&*', '+@all');
    });
    afterEach(async () => {
      await harness.cleanup();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('connects as an ACL user given in the options', async () => {
      const transport = harness.transport({ username: 'alice', password: 'alice-s3cret' }, undefined, `redis://127.0.0.1:${server.port}`);
      const collector = new Collector();
      await transport.subscribe(collector.params('acl', 'g'));
      await transport.publish([message('acl', 'as-alice')]);
      await collector.waitFor((d) => d.message.id === 'as-alice', 'the message');
      const clients = String(await harness.redis().call('CLIENT', 'LIST'));
      expect(clients).toMatch(/user=alice/);
    });

    it('fails with a ConnectionError that shows neither password, in the error nor in the logs', async () => {
      const logger = recordingLogger();
      const transport = harness.transport({ connectTimeoutMs: 3_000 }, logger, `redis://alice:wrong-pa55word@127.0.0.1:${server.port}`);
      const error = await transport.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/WRONGPASS|invalid username-password/i);
      expect((error as Error).message).toContain('alice:***@');
      const everything = `${(error as Error).message} ${(error as Error).stack} ${logger.lines.join('\n')}`;
      expect(everything).not.toContain('wrong-pa55word');

      const viaOption = harness.transport({ username: 'alice', password: 'opt-pa55word', connectTimeoutMs: 3_000 }, logger, `redis://127.0.0.1:${server.port}`);
      const second = await viaOption.connect().catch((e: unknown) => e);
      expect(second).toBeInstanceOf(ConnectionError);
      expect(`${(second as Error).message} ${logger.lines.join('\n')}`).not.toContain('opt-pa55word');
    });

    it('fails fast with a ConnectionError when nothing listens', async () => {
      const port = await freePort();
      const transport = harness.transport({ connectTimeoutMs: 2_000 }, undefined, `redis://u:nothing-h3re@127.0.0.1:${port}`);
      const error = await transport.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).not.toContain('nothing-h3re');
    });
  });

  describe('TLS (private redis-server with a throwaway CA)', () => {
    let certs: TestCertificates;
    let server: PrivateBroker;
    let tlsPort: number;
    let harness: Harness;
    beforeAll(async () => {
      certs = makeCertificates();
      tlsPort = await freePort();
      server = await startRedis({
        args: ['--tls-port', String(tlsPort), '--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile, '--tls-ca-cert-file', certs.caFile, '--tls-auth-clients', 'no'],
      });
      harness = new Harness(server.url);
    });
    afterAll(async () => {
      await harness?.cleanup();
      await server?.close();
      certs?.remove();
    });

    it('publishes and consumes over rediss:// with the CA given in the options', async () => {
      const url = `rediss://127.0.0.1:${tlsPort}`;
      const transport = harness.transport({ tls: { ca: certs.ca } }, undefined, url);
      const collector = new Collector();
      await transport.subscribe(collector.params('tls', 'g'));
      await transport.publish([message('tls', 'encrypted')]);
      await collector.waitFor((d) => d.message.id === 'encrypted', 'the message over TLS');
    });

    it('refuses a server certificate it cannot verify', async () => {
      const transport = harness.transport({ connectTimeoutMs: 3_000 }, undefined, `rediss://127.0.0.1:${tlsPort}`);
      const error = await transport.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(/certificate/i);
    });
  });
});
