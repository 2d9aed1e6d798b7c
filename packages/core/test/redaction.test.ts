// The core guard: whatever a transport does, createBus scrubs the configuration's secrets from every
// error it rejects with, every error its transport throws or reports, and every line logged. A
// transport that leaks on purpose stands in for a third party's (its behaviour is the point, not a broker's).
import { describe, expect, it } from 'vitest';
import { ClosedError, createBus, Redactor, redactingLogger, redactingTransport, secretsOf, type Logger, type Transport } from '../src/index.js';

const PASSWORD = 'p/ss@w:rd?#% ü';

function leakyTransport(leak: string): Transport {
  return {
    name: 'leaky',
    capabilities: { delayedPublish: 'native', delayedRedelivery: 'native', redeliveryHeaders: true, orderingByKey: false, persistence: false, maxMessageBytes: 1024 },
    connect: async () => {},
    publish: async () => {
      throw new Error(`refused by amqp://guest:${leak}@host`, { cause: Object.assign(new Error(`inner ${leak}`), { url: `amqp://guest:${leak}@host` }) });
    },
    ensureGroup: async () => {},
    subscribe: async () => {
      throw new ClosedError(`closed, password ${encodeURIComponent(leak)}`);
    },
    close: async () => {},
  } as unknown as Transport;
}

function recording(): Logger & { lines: unknown[][] } {
  const lines: unknown[][] = [];
  const log = (...args: unknown[]) => {
    lines.push(args);
  };
  return { lines, debug: log, info: log, warn: log, error: log } as Logger & { lines: unknown[][] };
}

const forms = [PASSWORD, encodeURIComponent(PASSWORD)];
const expectClean = (value: unknown): void => {
  const text = JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { ...v, message: v.message, stack: v.stack, cause: v.cause } : v));
  for (const form of forms) expect(text).not.toContain(form);
};

describe('secrets of a config', () => {
  it('finds the password of a URL that the URL parser refuses, and secret-named options', () => {
    const secrets = secretsOf({ url: `amqp://guest:${PASSWORD}@host/vh`, options: { sasl: { mechanism: 'plain', password: 'sasl-secret' }, prefetch: 10 } });
    expect(secrets).toContain(PASSWORD);
    expect(secrets).toContain('sasl-secret');
    expect(secrets).not.toContain('plain');
  });

  it('scrubs every printed form of a secret, and leaves the caller objects as they were', () => {
    const redactor = new Redactor([PASSWORD]);
    const cause = new Error(`decoded ${PASSWORD} encoded ${encodeURIComponent(PASSWORD)}`);
    const error = Object.assign(new Error('outer', { cause }), { code: 'X' });
    const scrubbed = redactor.error(error) as Error & { code: string; cause: Error };
    expectClean(scrubbed);
    expect(scrubbed).toBeInstanceOf(Error);
    expect(scrubbed.code).toBe('X');
    expect(scrubbed.cause.message).toBe('decoded *** encoded ***');
    expect(cause.message).toContain(PASSWORD);
    // A clean error is returned as it is, also with a stack through scoped packages (`file:///…/@scope/`).
    const clean = new Error('nothing secret');
    clean.stack = `Error: nothing secret\n    at run (file:///app/node_modules/@scope/pkg/index.js:1:1)`;
    expect(redactor.error(clean)).toBe(clean);
  });
});

describe('a transport that leaks', () => {
  it('has its errors scrubbed: publish rejections with causes and own properties, subscribe rejections', async () => {
    const transport = redactingTransport(leakyTransport(PASSWORD), new Redactor([PASSWORD]));
    const published = await transport.publish([]).catch((error: unknown) => error);
    expect(published).toBeInstanceOf(Error);
    expectClean(published);
    expect((published as Error).message).toBe('refused by amqp://guest:***@host');
    const subscribed = await transport.subscribe({} as never).catch((error: unknown) => error);
    expect(subscribed).toBeInstanceOf(ClosedError);
    expectClean(subscribed);
  });

  it('logs through a logger that scrubs messages and fields, errors included', () => {
    const logger = recording();
    const scrubbing = redactingLogger(logger, new Redactor([PASSWORD]));
    const fields = { url: `redis://default:${PASSWORD}@host`, err: new Error(`auth failed for ${PASSWORD}`) };
    scrubbing.warn(fields, `connecting with ${PASSWORD}`);
    expect(logger.lines).toHaveLength(1);
    expectClean(logger.lines);
    expect(fields.err.message).toContain(PASSWORD);
  });

  it('createBus scrubs what it rejects with, even for a password the URL parser refuses', async () => {
    const logger = recording();
    const error = await createBus({ url: `memory://user:${PASSWORD}@host`, options: { faults: { seed: PASSWORD } }, logger }).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expectClean(error);
    expectClean(logger.lines);
  });
});
