// Issue 12, item 5 (NATS): a password with characters the URL parser cannot separate (an
// unencoded `/ ? # @`, a space, a lone `%`) must never appear in an error: not in the message,
// the stack, any property (the parser's TypeError carries the whole input as `cause.input`) nor
// anywhere down the cause chain; nor in a log line.
import { describe, expect, it } from 'vitest';
import type { Logger } from '@omnibus/core';
import { createTransport } from '@omnibus/nats';
import { freePort } from '@omnibus/test-support';

/** Everything an error shows, down its cause chain: name, message, stack and every own property. */
function everything(error: unknown, depth = 0): string {
  if (depth > 8 || error === undefined || error === null) return '';
  if (typeof error !== 'object') return String(error);
  const parts: string[] = [];
  for (const key of Object.getOwnPropertyNames(error)) {
    const value = (error as Record<string, unknown>)[key];
    parts.push(key === 'cause' ? everything(value, depth + 1) : `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  if (error instanceof Error) parts.push(error.name, error.message, String(error.stack));
  return parts.join('\n');
}

function recordingLogger(): Logger & { text: () => string } {
  const lines: string[] = [];
  const log = (fields: unknown, message?: string) => void lines.push(`${JSON.stringify(fields)} ${message ?? ''}`);
  return { text: () => lines.join('\n'), debug: log, info: log, warn: log, error: log };
}

/** Each secret is long enough to be recognised anywhere, with the hostile characters inside. */
const PASSWORDS = ['pa/ss-w0rd-1', 'pa@ss-w0rd-2', 'pa:ss-w0rd-3', 'pa?ss-w0rd-4', 'pa#ss-w0rd-5', 'pa%ss-w0rd-6', 'pa ss-w0rd-7', 'pä§s-wörd-8-日本', '123/4567-w0rd-9', 'p%2Fss-w0rd-10'];

/** What of a password an error must not show: the raw text, and each part around the hostile character. */
function fragments(password: string): string[] {
  return [password, encodeURIComponent(password), ...password.split(/[/@:?#% ]/).filter((part) => part.length >= 5)];
}

describe('nats transport: hostile passwords in the URL', () => {
  for (const password of PASSWORDS) {
    it(`never shows ${JSON.stringify(password)} (unencoded in the URL)`, async () => {
      const port = await freePort();
      const logger = recordingLogger();
      const url = `nats://omni:${password}@127.0.0.1:${port}`;
      let shown = '';
      let transport;
      try {
        transport = createTransport({ url, options: { connectTimeoutMs: 500, reconnectTimeWaitMs: 50 }, logger });
      } catch (error) {
        // Not a URL the parser can split: a ConfigError naming the url, nothing of the password.
        expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'url' });
        shown = everything(error);
        for (const fragment of fragments(password)) expect(shown).not.toContain(fragment);
        expect((error as Error).message).toMatch(/percent-encode/);
      }
      if (transport) {
        // Parsed: connecting (to a port nobody listens on) fails with a ConnectionError.
        const error = await transport.connect().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'CONNECTION_FAILED' });
        shown = everything(error);
        await transport.close();
      }
      shown += `\n${logger.text()}`;
      for (const fragment of fragments(password)) expect(shown).not.toContain(fragment);
    });
  }

  it('takes a percent-encoded password of the same characters as it is meant', () => {
    for (const password of PASSWORDS) {
      expect(() => createTransport({ url: `nats://omni:${encodeURIComponent(password)}@127.0.0.1:4222`, options: {}, logger: recordingLogger() })).not.toThrow();
    }
  });
});
