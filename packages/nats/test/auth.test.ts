import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { nkeyAuthenticator, nkeys } from '@nats-io/transport-node';
import { isOmnibusError, type Logger, type Transport } from '@omnibus/core';
import { createTransport, type NatsOptionsInput } from '@omnibus/nats';
import { freePort, isCI, NATS_SERVER_BINARY, privateBrokerUnavailable, startNats, type PrivateBroker } from '@omnibus/test-support';

const suite = !privateBrokerUnavailable('nats') || isCI() ? describe : describe.skip;

/** A logger that keeps every line, to check no secret is ever logged. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (fields: unknown, message?: string) => void lines.push(`${JSON.stringify(fields)} ${message ?? ''}`);
  return { lines, debug: log, info: log, warn: log, error: log };
}

/** Everything an error shows: message, name, and the messages of its causes. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(`${current.name}: ${current.message}`, String(current.stack));
    current = current.cause;
  }
  return parts.join('\n');
}

suite(`nats transport: authentication (private ${NATS_SERVER_BINARY})`, () => {
  const servers: PrivateBroker[] = [];
  const opened: Transport[] = [];
  const logger = recordingLogger();
  const files = mkdtempSync(join(tmpdir(), 'omnibus-nats-auth-'));
  const make = (url: string, options: NatsOptionsInput = {}): Transport => {
    const transport = createTransport({ url, options: { connectTimeoutMs: 3_000, reconnectTimeWaitMs: 100, ...options } as Record<string, unknown>, logger });
    opened.push(transport);
    return transport;
  };

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.close()));
    rmSync(files, { recursive: true, force: true });
    expect(logger.lines.join('\n')).not.toMatch(/s3cr3t-pw|wrong-pw-123|tok3n-s3cret|bad-tok3n|SU[A-Z0-9]{50,}/);
  });

  it('authenticates with user/password from the URL or the options and never shows a password', async () => {
    const server = await startNats({ args: ['--user', 'omni', '--pass', 's3cr3t-pw'], probeAuth: { user: 'omni', pass: 's3cr3t-pw' } });
    servers.push(server);
    const fromUrl = make(`nats://omni:s3cr3t-pw@127.0.0.1:${server.port}`);
    await fromUrl.connect();
    await fromUrl.ensureGroup('auth.url', 'g1');
    const fromOptions = make(server.url, { user: 'omni', password: 's3cr3t-pw' });
    await fromOptions.connect();

    const wrong = make(`nats://omni:wrong-pw-123@127.0.0.1:${server.port}`);
    const error = await wrong.connect().catch((e: unknown) => e);
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    expect(errorText(error)).toMatch(/authorization/i);
    expect(errorText(error)).not.toContain('wrong-pw-123');
  });

  it('authenticates with a token from the URL or the options', async () => {
    const server = await startNats({ args: ['--auth', 'tok3n-s3cret'], probeAuth: { token: 'tok3n-s3cret' } });
    servers.push(server);
    await make(`nats://tok3n-s3cret@127.0.0.1:${server.port}`).connect();
    await make(server.url, { token: 'tok3n-s3cret' }).connect();
    const error = await make(server.url, { token: 'bad-tok3n' })
      .connect()
      .catch((e: unknown) => e);
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    expect(errorText(error)).not.toContain('bad-tok3n');
  });

  it('authenticates with an NKey seed, given inline or as a file', async () => {
    const user = nkeys.createUser();
    const seed = new TextDecoder().decode(user.getSeed());
    const config = join(files, 'nkey.conf');
    writeFileSync(config, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    const seedFile = join(files, 'user.nk');
    writeFileSync(seedFile, `${seed}\n`);
    const server = await startNats({ args: ['-c', config], probeAuth: { authenticator: nkeyAuthenticator(user.getSeed()) } });
    servers.push(server);
    await make(server.url, { nkeySeed: seed }).connect();
    const fromFile = make(server.url, { nkeySeedFile: seedFile });
    await fromFile.connect();
    await fromFile.ensureGroup('auth.nkey', 'g1');
    const error = await make(server.url).connect().catch((e: unknown) => e);
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    expect(() => make(server.url, { nkeySeedFile: join(files, 'missing.nk') })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', field: 'options.nkeySeedFile' }));
  });

  it('rejects connect() with a ConnectionError without the password when nothing listens', async () => {
    const port = await freePort();
    const error = await make(`nats://omni:s3cr3t-pw@127.0.0.1:${port}`).connect().catch((e: unknown) => e);
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    expect(errorText(error)).toContain(`127.0.0.1:${port}`);
    expect(errorText(error)).not.toContain('s3cr3t-pw');
  });
});
