import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { silentLogger, type Transport } from '@omnibus/core';
import { createTransport } from '@omnibus/rabbitmq';
import { brokerAddress, describeWithBroker, recordingLogger } from '@omnibus/test-support';
import { bytes, cleanupPrefix, deliveryLog, makeTransport, testPrefix, uniqueTopic } from './helpers.js';

const make = (url: string, options: Record<string, unknown>) => createTransport({ url, options, logger: silentLogger });

describe('rabbitmq options', () => {
  it.each([
    [{ prefix: 'has space' }, 'options.prefix'],
    [{ queueType: 'stream' }, 'options.queueType'],
    [{ delayQueueType: 'stream' }, 'options.delayQueueType'],
    [{ heartbeatSeconds: -1 }, 'options.heartbeatSeconds'],
    [{ prefetch: 0 }, 'options.prefetch'],
    [{ publishWindow: 1.5 }, 'options.publishWindow'],
    [{ reconnect: { initialDelayMs: 'soon' } }, 'options.reconnect.initialDelayMs'],
    [{ tls: { rejectUnauthorized: 'no' } }, 'options.tls.rejectUnauthorized'],
  ])('rejects %j with a ConfigError naming %s', (options, field) => {
    expect(() => make('amqps://guest:guest@localhost', options)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field }));
  });

  it('rejects unknown options', () => {
    expect(() => make('amqp://localhost', { prefetchCount: 5 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('prefetchCount') }));
  });

  it('rejects TLS options on a plain amqp:// URL', () => {
    expect(() => make('amqp://localhost', { tls: { ca: 'pem' } })).toThrow(expect.objectContaining({ field: 'options.tls' }));
  });

  it('rejects a non-AMQP URL without showing its password', () => {
    let error: unknown;
    try {
      make('http://admin:hunter2-secret@broker.example:5672', {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'url' });
    expect(String((error as Error).message)).not.toContain('hunter2-secret');
    expect(String((error as Error).message)).not.toContain('admin');
  });

  it('rejects a bad ?heartbeat= in the URL', () => {
    expect(() => make('amqp://localhost/?heartbeat=soon', {})).toThrow(expect.objectContaining({ field: 'url' }));
  });
});

describeWithBroker('rabbitmq', 'rabbitmq connection errors and credentials', (endpoint) => {
  const prefix = testPrefix('opts');
  const transports: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  it('rejects connect() with a ConnectionError that never shows the password (wrong credentials)', async () => {
    const secret = 'wrong-Pa55word-zz9';
    const { host, port } = brokerAddress(endpoint.url, 5672);
    const logger = recordingLogger();
    const transport = createTransport({ url: `amqp://guest:${secret}@${host}:${port}/`, options: { connectTimeoutMs: 5_000 }, logger });
    transports.push(transport);
    const error = (await transport.connect().catch((e: unknown) => e)) as Error & { cause?: unknown };
    expect(error).toMatchObject({ name: 'ConnectionError', code: 'CONNECTION_FAILED' });
    expect(error.message).toMatch(/ACCESS.REFUSED|403/);
    expect(error.message).toContain('guest:***@');
    const everything = [error.message, error.stack, String(error.cause), (error.cause as Error | undefined)?.stack, logger.text()].join('\n');
    expect(everything).not.toContain(secret);
  });

  it('rejects connect() with a ConnectionError when nothing listens', async () => {
    const transport = createTransport({ url: 'amqp://guest:s3cr3t-x@127.0.0.1:1/', options: {}, logger: silentLogger });
    transports.push(transport);
    const error = (await transport.connect().catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'CONNECTION_FAILED', message: expect.stringContaining('ECONNREFUSED') });
    expect(error.message).not.toContain('s3cr3t-x');
    // connect() again tries again (and fails again) rather than caching the failure forever.
    await expect(transport.connect()).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });

  it('rejects use after close() with a ClosedError', async () => {
    const transport = makeTransport(endpoint.url, { prefix });
    await transport.connect();
    await transport.close();
    await transport.close(); // idempotent
    await expect(transport.publish([{ id: 'x', topic: 't', key: undefined, headers: {}, body: bytes('x') }])).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(transport.ensureGroup('t', 'g')).rejects.toMatchObject({ code: 'CLOSED' });
  });

  describe('TLS (amqps) through a TLS-terminating proxy with a test CA', () => {
    const run = promisify(execFile);
    let dir = '';
    let server: TlsServer | undefined;
    let port = 0;
    let pem: { ca: string; clientCert: string; clientKey: string; otherCa: string } | undefined;

    beforeAll(async () => {
      try {
        await run('openssl', ['version']);
      } catch {
        return; // no openssl: the TLS tests skip themselves
      }
      dir = await mkdtemp(join(tmpdir(), 'omnibus-tls-'));
      const at = (name: string) => join(dir, name);
      const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
      await writeFile(at('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
      for (const ca of ['ca', 'other-ca']) {
        await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at(`${ca}.key`), '-out', at(`${ca}.pem`), '-days', '2', '-subj', `/CN=omnibus-test-${ca}`);
      }
      for (const leaf of ['server', 'client']) {
        await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at(`${leaf}.key`), '-out', at(`${leaf}.csr`), '-subj', `/CN=${leaf === 'server' ? 'localhost' : 'omnibus-client'}`);
        await openssl('x509', '-req', '-in', at(`${leaf}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at(`${leaf}.pem`), '-days', '2', '-extfile', at('san.ext'));
      }
      const read = (name: string) => readFile(at(name), 'utf8');
      pem = { ca: await read('ca.pem'), clientCert: await read('client.pem'), clientKey: await read('client.key'), otherCa: await read('other-ca.pem') };
      const broker = brokerAddress(endpoint.url, 5672);
      // Terminates TLS (requiring a client certificate from the test CA) and forwards to the broker.
      server = createTlsServer({ key: await read('server.key'), cert: await read('server.pem'), ca: pem.ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
        const upstream = tcpConnect(broker.port, broker.host);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
      });
      server.on('tlsClientError', () => {});
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const tlsUrl = () => `amqps://guest:guest@localhost:${port}/`;

    it('connects with the CA, client certificate and key (PEM text) and round-trips a message', async (ctx) => {
      if (!pem) return ctx.skip('openssl is not available to make test certificates');
      const transport = makeTransport(tlsUrl(), { prefix, tls: { ca: pem.ca, cert: pem.clientCert, key: pem.clientKey } });
      transports.push(transport);
      const topic = uniqueTopic('tls');
      const log = deliveryLog();
      await transport.subscribe({ topic, group: 'g1', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
      await transport.publish([{ id: 'over-tls', topic, key: undefined, headers: {}, body: bytes('secret') }]);
      await log.waitFor((ds) => ds.length === 1, 'the message over TLS');
      expect(log.deliveries[0]!.message.id).toBe('over-tls');
    });

    it('reads the CA, certificate and key from files', async (ctx) => {
      if (!pem) return ctx.skip('openssl is not available to make test certificates');
      const transport = makeTransport(tlsUrl(), { prefix, tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') } });
      transports.push(transport);
      await transport.connect();
    });

    it('refuses a broker certificate the configured CA does not vouch for', async (ctx) => {
      if (!pem) return ctx.skip('openssl is not available to make test certificates');
      const transport = makeTransport(tlsUrl(), { prefix, tls: { ca: pem.otherCa, cert: pem.clientCert, key: pem.clientKey } });
      transports.push(transport);
      await expect(transport.connect()).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
    });

    it('fails without the client certificate the broker side requires', async (ctx) => {
      if (!pem) return ctx.skip('openssl is not available to make test certificates');
      const transport = makeTransport(tlsUrl(), { prefix, connectTimeoutMs: 3_000, tls: { ca: pem.ca } });
      transports.push(transport);
      await expect(transport.connect()).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
    });
  });
});
