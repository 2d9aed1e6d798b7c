import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '@omnibus/core';
import { createTransport } from '@omnibus/rabbitmq';
import { brokerAddress, describeWithBroker, recordingLogger, type RecordingLogger } from '@omnibus/test-support';

/** Passwords with every character a URL gives meaning to, unicode, and ones already percent-encoded. */
const HOSTILE = [
  'sl/ash-Secret1',
  'at@sign-Secret2',
  'co:lon-Secret3',
  'ques?tion-Secret4',
  'ha#sh-Secret5',
  'per%cent-Secret6',
  'spa ce-Secret7',
  'all /@:?#% of-them-Secret8',
  'ünï-cödé-密码-Secret9',
  'tr@il/ing@',
  '%2Fencoded%40slash-Secret10',
];

/** Every text an error carries: message, stack, and the same for each cause, recursively, plus own properties. */
function everythingIn(error: unknown, depth = 0): string {
  if (depth > 10 || error === undefined || error === null) return '';
  if (!(error instanceof Error)) return String(error);
  const own = Object.entries(error)
    .filter(([name]) => name !== 'cause')
    .map(([name, value]) => `${name}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  return [error.name, error.message, error.stack, ...own, everythingIn((error as { cause?: unknown }).cause, depth + 1)].join('\n');
}

/** Every line the logger received, with errors in fields expanded (stack and causes included). */
function everythingLogged(logger: RecordingLogger): string {
  return logger.entries
    .map((entry) => [entry.level, entry.message, JSON.stringify(entry.fields, (_k, v: unknown) => (v instanceof Error ? everythingIn(v) : v))].join(' '))
    .join('\n');
}

/** The password in every form it could be printed in. */
const forms = (password: string): string[] => [password, encodeURIComponent(password), encodeURI(password), decodeLoosely(password)].filter((f) => f.length >= 3);
function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function expectNoPassword(text: string, password: string): void {
  for (const form of forms(password)) expect(text, `the text shows the password as ${JSON.stringify(form)}`).not.toContain(form);
}

describe('rabbitmq credentials: config errors', () => {
  it.each(HOSTILE)('a URL with the password %j, not encoded, with a bad port is a ConfigError that never shows it', (password) => {
    let error: unknown;
    try {
      createTransport({ url: `amqp://guest:${password}@127.0.0.1:99999999/`, options: {}, logger: recordingLogger() });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'url' });
    expectNoPassword(everythingIn(error), password);
  });

  it('a bad ?heartbeat= is a ConfigError showing the URL with the password masked', () => {
    let error: unknown;
    try {
      createTransport({ url: 'amqp://guest:we ird/pass@127.0.0.1/?heartbeat=soon', options: {}, logger: recordingLogger() });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', field: 'url', message: expect.stringContaining('amqp://guest:***@127.0.0.1') });
    expectNoPassword(everythingIn(error), 'we ird/pass');
  });
});

describeWithBroker('rabbitmq', 'rabbitmq credentials: a wrong hostile password against the real broker', (endpoint) => {
  const { host, port } = brokerAddress(endpoint.url, 5672);
  const transports: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });

  const cases = HOSTILE.flatMap((password) => [
    { password, url: `amqp://guest:${password}@${host}:${port}/`, how: 'as typed' },
    { password, url: `amqp://guest:${encodeURIComponent(password)}@${host}:${port}/`, how: 'percent-encoded' },
  ]);

  it.each(cases)('the password $password ($how) gets ACCESS_REFUSED and appears in no error, cause, stack or log line', async ({ password, url }) => {
    const logger = recordingLogger();
    const transport = createTransport({ url, options: { connectTimeoutMs: 5_000 }, logger });
    transports.push(transport);
    const error = await transport.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    // It parsed and reached the broker, which refused the login: the password travelled intact.
    expect(error).toMatchObject({ name: 'ConnectionError', code: 'CONNECTION_FAILED', message: expect.stringMatching(/ACCESS.REFUSED|403/) });
    expect((error as Error).message).toContain(`amqp://guest:***@${host}:${port}`);
    // A publish after the failed connect fails the same way, and logs at every level on the way.
    const publishing = await transport.publish([{ id: 'p', topic: 'cred-test', key: undefined, headers: {}, body: new Uint8Array([1]) }]).catch((e: unknown) => e);
    expect(publishing).toMatchObject({ code: 'PUBLISH_FAILED' });
    await transport.close();
    for (const text of [everythingIn(error), everythingIn(publishing), everythingLogged(logger)]) expectNoPassword(text, password);
  });
});
