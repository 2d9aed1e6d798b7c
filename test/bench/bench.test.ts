// The benchmark's own machinery (not its numbers: performance is never asserted in tests): flags
// parse as documented, and a short in-memory run prints its table, so `npm run bench` cannot rot
// unnoticed between the times someone runs it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bench/lib/config.js';

const run = promisify(execFile);

describe('bench', () => {
  it('parses --raw-envelope, --side and the defaults of issue 8', () => {
    const defaults = loadConfig([], {});
    expect(defaults).toMatchObject({ messages: 50_000, rounds: 3, payloadBytes: 1024, rawEnvelope: false, sides: ['raw', 'omnibus'] });
    expect(loadConfig(['--raw-envelope', '--side', 'raw'], {})).toMatchObject({ rawEnvelope: true, sides: ['raw'] });
    expect(loadConfig([], { BENCH_RAW_ENVELOPE: '1' })).toMatchObject({ rawEnvelope: true });
    expect(() => loadConfig(['--side', 'both-ish'], {})).toThrow(/--side must be raw, omnibus or both/);
  });

  it('parses --peers and BENCH_PEERS (off by default)', () => {
    expect(loadConfig([], {})?.peers).toBe(false);
    expect(loadConfig(['--peers'], {})?.peers).toBe(true);
    expect(loadConfig([], { BENCH_PEERS: '1' })?.peers).toBe(true);
    expect(loadConfig([], { BENCH_PEERS: 'true' })?.peers).toBe(true);
    expect(loadConfig([], { BENCH_PEERS: '0' })?.peers).toBe(false);
    expect(() => loadConfig(['--peers=yes'], {})).toThrow();
  });

  it('knows amqp10 and sqs: --only takes them, their URLs default to the test brokers, the tracing section stays on the first four', () => {
    const config = loadConfig(['--only', 'amqp10,sqs'], {});
    expect(config?.only).toEqual(['amqp10', 'sqs']);
    expect(config?.urls).toMatchObject({ amqp10: 'amqp10://artemis:artemis@127.0.0.1:5673', sqs: 'sqs://omnibench:omnibench@127.0.0.1:9324?region=elasticmq' });
    expect(loadConfig([], { OMNIBUS_BENCH_SQS_URL: 'sqs://?region=eu-west-1' })?.urls.sqs).toBe('sqs://?region=eu-west-1');
    expect(() => loadConfig(['--tracing-on', 'sqs'], {})).toThrow(/--tracing-on: unknown target "sqs"/);
  });

  it('runs the in-memory comparison end to end and prints its table', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--conditions=@omnibus/source', '--import', 'tsx', 'bench/run.ts', '--only', 'memory', '--memory-messages', '2000', '--rounds', '1', '--out', ''],
      { timeout: 60_000 },
    );
    expect(stdout).toMatch(/\| transport only \(JSON bytes, ack\) \| [\d,]+ \| [\d.]+ \|/);
    expect(stdout).toMatch(/\| policy layer cost per message \| \| [+-]*[\d.]+ \|/);
  }, 90_000);
});
