import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError } from '@omnibus/core';
import { describeWithBroker, recordingLogger, startRedis, type PrivateBroker, type RecordingLogger } from '@omnibus/test-support';
import { createTransport } from '../src/index.js';
import { Collector } from './helpers/collector.js';
import { Harness, message } from './helpers/transports.js';

/**
 * Hostile passwords: every character a URL gives a meaning to, unicode, and forms that are
 * already URL-encoded. Each has pieces (`Kq7`, `Zx9`...) that must never show up anywhere.
 */
const HOSTILE = ['Kq7@Zx9', 'Kq7/Zx9', 'Kq7:Zx9', 'Kq7?Zx9', 'Kq7#Zx9', 'Kq7%Zx9', 'Kq7 Zx9', 'Kq7%4', 'Kq7ü☃Zx9', 'Kq7@Zx9/Wv5:Tn3?Rm2#Pl8%Hj6 Gf4', 'Kq7%40Zx9', 'Kq7%2FZx9'];

/** Every form of a password that would give it away: raw, decoded, encoded, and its pieces. */
function giveaways(password: string): string[] {
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // Not valid percent-encoding: the raw form is the password.
  }
  const pieces = [password, decoded, encodeURIComponent(password), encodeURIComponent(decoded)];
  for (const part of password.split(/[@/:?#% ]|%[0-9A-F]{2}/i)) if (part.length >= 3) pieces.push(part);
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

describe('redis transport: URLs with hostile passwords, without a broker', () => {
  it.each(HOSTILE)('a bad URL with password %j is a ConfigError naming the url, without the password', (password) => {
    const logger = recordingLogger();
    let caught: unknown;
    try {
      createTransport({ url: `redis://alice:${password}@cache.internal:not-a-port/0`, options: {}, logger });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).field).toBe('url');
    expectNoneOf(everythingOf(caught), password);
    expectNoneOf(logged(logger), password);
  });
});

describeWithBroker('redis', 'redis transport: hostile passwords against a real Redis', () => {
  let server: PrivateBroker;
  let harness: Harness;
  beforeAll(async () => {
    server = await startRedis({ password: 'admin-s3cret' });
    harness = new Harness(server.url);
  });
  afterEach(async () => {
    await harness.cleanup();
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(HOSTILE)('a wrong password %j: a ConnectionError with a cause, no trace of it in the chain, stack or debug logs', async (password) => {
    const logger = recordingLogger();
    const transport = harness.transport({ connectTimeoutMs: 3_000 }, logger, `redis://alice:${password}@127.0.0.1:${server.port}`);
    const connectError = await transport.connect().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(connectError).toBeInstanceOf(ConnectionError);
    expect((connectError as Error).message).toContain(`redis://alice:***@127.0.0.1:${server.port}`);
    const cause = (connectError as Error).cause;
    expect(cause).toBeInstanceOf(Error);
    expect((cause as Error).message).toMatch(/WRONGPASS/);
    // Publishing dials again: its error says as little.
    const publishError = await transport.publish([message('t', 'm')]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(publishError).toBeInstanceOf(Error);
    expect(logger.entries.length).toBeGreaterThan(0);
    expectNoneOf(`${everythingOf(connectError)}\n${everythingOf(publishError)}\n${logged(logger)}`, password);
  });

  it.each(HOSTILE)('the right password %j connects, URL-encoded or (where unambiguous) as typed', async (password) => {
    const user = `u${HOSTILE.indexOf(password)}`;
    await harness.redis().call('ACL', 'SETUSER', user, 'reset', 'on', `>${password}`, '~*', '&*', '+@all');
    const urls = [`redis://${user}:${encodeURIComponent(password)}@127.0.0.1:${server.port}`];
    // As typed: only when decoding it cannot change it (no %XX in it).
    if (!/%[0-9A-F]{2}/i.test(password)) urls.push(`redis://${user}:${password}@127.0.0.1:${server.port}`);
    for (const url of urls) {
      const logger = recordingLogger();
      const transport = harness.transport({}, logger, url);
      const collector = new Collector();
      await transport.subscribe(collector.params('hostile', 'g'));
      await transport.publish([message('hostile', `as-${user}`)]);
      await collector.waitFor((d) => d.message.id === `as-${user}`, 'the message');
      await transport.close();
      expectNoneOf(logged(logger), password);
    }
  });
});
