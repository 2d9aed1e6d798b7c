// The URL's password is never printed by the bin, whatever it holds and however it is written:
// a hostile password (`/ @ : ? # %`, space, unicode), raw and percent-encoded, in --url, with
// --verbose (every debug line of the transport on stderr), against a port that refuses the
// connection, and against each real broker (which accepts, ignores or refuses it). stdout and
// stderr are searched for every form the password could be printed in.
import { describe, expect, it } from 'vitest';
import { BROKER_KINDS, describeWithBroker, freePort, type BrokerKind } from '@omnibus/test-support';
import { forbiddenForms, writtenForms, type WrittenPassword } from '../credentials/password-forms.js';
import { runCli, type CliResult } from './run-cli.js';

const PASSWORD = 'S3cr3t/@:?#% ü-pw';
const FORMS = writtenForms(PASSWORD);
const SCHEME: Record<BrokerKind, string> = { rabbitmq: 'amqp', kafka: 'kafka', redis: 'redis', nats: 'nats' };

function expectNoPassword(result: CliResult, written: WrittenPassword): void {
  const printed = `${result.stdout}\n${result.stderr}`;
  for (const form of forbiddenForms(written)) expect(printed, `the password's form ${JSON.stringify(form)} was printed`).not.toContain(form);
}

describe.concurrent('omnibus never prints the password of --url', () => {
  describe.concurrent('on a refused connection', () => {
    for (const kind of BROKER_KINDS) {
      it.each(FORMS)(`${kind}, the password written $written: exit 1 (2 for a URL the transport cannot read), no password`, async (written) => {
        const url = `${SCHEME[kind]}://app:${written.inUrl}@127.0.0.1:${await freePort()}`;
        const result = await runCli(['--verbose', '--option', kind === 'kafka' ? 'connectTimeoutMs=2000' : 'connectTimeoutMs=1000', 'publish', 'orders', '--data', '{"n":1}', '--url', url]);
        expect([1, 2], result.stderr).toContain(result.code);
        expect(result.stderr).toMatch(/^error: /m);
        expect(result.stdout).toBe('');
        expectNoPassword(result, written);
      });
    }
  });

  for (const kind of BROKER_KINDS) {
    describeWithBroker(kind, `against the ${kind} broker`, (endpoint) => {
      it('doctor with a wrong, hostile password: connected or refused, never printed', async () => {
        const written = FORMS.find((f) => f.written === 'encoded') as WrittenPassword;
        const host = endpoint.url.replace(/^[a-z]+:\/\/([^@/]*@)?/i, '');
        const url = `${SCHEME[kind]}://guest:${written.inUrl}@${host}`;
        const result = await runCli(['--verbose', 'doctor', '--url', url]);
        expect([0, 1], result.stderr).toContain(result.code);
        expect(result.stdout + result.stderr).toMatch(result.code === 0 ? /connected to / : /cannot connect to /);
        expectNoPassword(result, written);
      });
    });
  }
});
