import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, isOmnibusError, type Transport } from '@omnibus/core';
import { describeWithBroker, recordingLogger, type RecordingLogger } from '@omnibus/test-support';
import { parseKafkaUrl } from '../src/url.js';
import { createTransport, KAFKA_DRIVERS } from '../src/index.js';

/**
 * Hostile passwords: every character a URL gives a meaning to, unicode, and forms that are
 * already URL-encoded. Each has pieces (`Kq7`, `Zx9`...) that must never show up anywhere.
 */
const HOSTILE = ['Kq7@Zx9', 'Kq7/Zx9', 'Kq7:Zx9', 'Kq7?Zx9', 'Kq7#Zx9', 'Kq7%Zx9', 'Kq7 Zx9', 'Kq7%4', 'Kq7ü☃Zx9', 'Kq7@Zx9/Wv5:Tn3?Rm2#Pl8%Hj6 Gf4', 'Kq7%40Zx9', 'Kq7%2FZx9', 'Kq7,Zx9'];

/** The password a URL with `raw` in it means: percent-decoded when that is valid, else as typed. */
function meant(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Every form of a password that would give it away: raw, decoded, encoded, and its pieces. */
function giveaways(password: string): string[] {
  const decoded = meant(password);
  const pieces = [password, decoded, encodeURIComponent(password), encodeURIComponent(decoded)];
  for (const part of password.split(/[@/:?#%, ]|%[0-9A-F]{2}/i)) if (part.length >= 3) pieces.push(part);
  return [...new Set(pieces)];
}

/** Message, stack and every own property of an error and its whole cause chain, as text. */
function everythingOf(value: unknown, depth = 0): string {
  if (depth > 8 || value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  const parts: string[] = [];
  if (value instanceof Error) parts.push(value.name, value.message, value.stack ?? '');
  for (const key of Reflect.ownKeys(value)) {
    const field = (value as Record<PropertyKey, unknown>)[key];
    parts.push(String(key), typeof field === 'object' ? everythingOf(field, depth + 1) : String(field));
  }
  if (value instanceof Error) parts.push(everythingOf(value.cause, depth + 1));
  return parts.join('\n');
}

function logged(logger: RecordingLogger): string {
  return logger.entries.map((entry) => `${entry.level} ${entry.message}\n${everythingOf(entry.fields)}`).join('\n');
}

function expectNoneOf(text: string, password: string): void {
  for (const secret of giveaways(password)) expect(text, `"${secret}" of password ${JSON.stringify(password)}`).not.toContain(secret);
}

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('kafka transport: URLs with hostile passwords, without a broker', () => {
  it.each(HOSTILE)('reads password %j from a URL that was not encoded, and the hosts after it', (password) => {
    const parsed = parseKafkaUrl(`kafka://alice:${password}@b1.internal:9092,b2.internal?mechanism=scram-sha-256`);
    expect(parsed.brokers).toEqual(['b1.internal:9092', 'b2.internal:9092']);
    expect(parsed.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'alice', password: meant(password) });
  });

  it.each(HOSTILE)('a bad URL with password %j is a ConfigError naming the url, without the password', (password) => {
    for (const url of [
      `kafka://alice:${password}@b1.internal:not-a-port`,
      `kafka://alice:${password}@b1.internal:9092?mechanism=gssapi`,
      `kafka://alice:${password}@b1.internal:9092?debug=1`,
      `kafka://alice:${password}@`,
      `kafka://:${password}@b1.internal:9092`,
      `kafk://alice:${password}@b1.internal:9092`,
    ]) {
      const logger = recordingLogger();
      const caught = thrown(() => createTransport({ url, options: {}, logger }));
      expect(caught, url).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).field).toBe('url');
      expectNoneOf(everythingOf(caught), password);
      expectNoneOf(logged(logger), password);
    }
  });

  it.each(HOSTILE.flatMap((password) => KAFKA_DRIVERS.map((driver) => [driver, password] as const)))('%s: a broker nobody answers on, with password %j: a ConnectionError without it', async (driver, password) => {
    const logger = recordingLogger();
    const transport = createTransport({ url: `kafka://alice:${password}@127.0.0.1:1`, options: { driver, connectTimeoutMs: 2_000, retries: 0, brokerConnectTimeoutMs: 200 }, logger });
    const error = await transport.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    await transport.close();
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    expectNoneOf(everythingOf(error), password);
    expectNoneOf(logged(logger), password);
  });

  it('never echoes a password given in options', () => {
    const password = 'Kq7@Zx9/Wv5:Tn3?Rm2#Pl8%Hj6 Gf4';
    const caught = thrown(() => createTransport({ url: 'kafka://h:9092', options: { sasl: { mechanism: 'oauth', username: 'u', password } }, logger: recordingLogger() }));
    expect(isOmnibusError(caught, 'CONFIG_INVALID')).toBe(true);
    expectNoneOf(everythingOf(caught), password);
  });
});

describeWithBroker('kafka', 'kafka transport: a broker that refuses the credentials', (endpoint) => {
  const open: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });

  const passwords = ['Kq7@Zx9/Wv5:Tn3?Rm2#Pl8%Hj6 Gf4', 'Kq7ü☃Zx9', 'Kq7%40Zx9'];
  it.each(passwords.flatMap((password) => KAFKA_DRIVERS.map((driver) => [driver, password] as const)))('%s: password %j: the error, its causes and the debug log do not contain it', async (driver, password) => {
    const logger = recordingLogger();
    // The test broker has no SASL listener: the handshake is refused after connecting.
    const [host] = endpoint.brokers;
    const transport = createTransport({ url: `kafka://alice:${password}@${host}`, options: { driver, connectTimeoutMs: 5_000, retries: 0 }, logger });
    open.push(transport);
    const error = await transport.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOmnibusError(error, 'CONNECTION_FAILED'), String(error)).toBe(true);
    expectNoneOf(everythingOf(error), password);
    expectNoneOf(logged(logger), password);
  });
});
