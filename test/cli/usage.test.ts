// The command line itself, with no broker: bad usage exits 2 with a message that says what to
// do, --help works on every command, and what memory:// can show in one process. Parsing and help
// are checked in this process (run-main.ts); one case of each, and everything else, through the bin.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, TOPICS_FIXTURE } from './run-cli.js';
import { runMain } from './run-main.js';

const MEMORY = { OMNIBUS_URL: 'memory://' };

// Concurrent: a bin case is a process of its own, and most of its time is Node starting up.
describe.concurrent('omnibus: usage', () => {
  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['publish'], /missing required argument 'topic'/],
    [['publish', 't', '--count', 'zero', '--data', '{}'], /option '-n, --count <n>' argument 'zero' is invalid/],
    [['dlq', 'list', 't', '--limit', '-3'], /expected a whole number of at least 1/],
    [['tail', 't', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['publish', 't', '--data', '{}', '--header', 'no-equals'], /--header "no-equals": write it as name=value/],
    [['dlq', 'list', 't', '--since', 'yesterday-ish'], /--since "yesterday-ish": give an ISO time/],
    [['stats'], /name at least one topic/],
    [['asyncapi'], /required option '-t, --topics <module>' not specified/],
    [['publish', 'bad topic!', '--data', '{}'], /not a valid topic name/],
    [['dlq'], /Usage: omnibus dlq/],
  ])('omnibus %j exits 2 and says why', async (args, message) => {
    const result = await runMain(args, MEMORY);
    expect(result.stderr).toMatch(message);
    expect(result.code, result.stderr).toBe(2);
  });

  it('the bin itself exits 2 on bad usage and 0 on --help', async () => {
    const [bad, help] = await Promise.all([runCli(['frobnicate']), runCli(['dlq', 'replay', '--help'])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: omnibus dlq replay/);
  });

  it('a reader that closes the pipe early ends the command quietly (EPIPE is not a crash)', async () => {
    const child = spawn(process.execPath, ['--conditions=@omnibus/source', '--import', 'tsx', BIN, '--help'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // like `| head -0`: every write of the bin meets a closed pipe
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });

  it('without a broker URL, a command that needs one exits 2 and names --url and OMNIBUS_URL', async () => {
    const result = await runMain(['publish', 't', '--data', '{}']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --url <url> or set OMNIBUS_URL/);
  });

  it('dlq purge without --yes and without a terminal exits 2 before connecting', async () => {
    const result = await runMain(['dlq', 'purge', 't'], { OMNIBUS_URL: 'amqp://127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/pass --yes to confirm/);
  });

  it.each([[[]], [['publish']], [['tail']], [['stats']], [['dlq']], [['dlq', 'list']], [['dlq', 'show']], [['dlq', 'replay']], [['dlq', 'purge']], [['asyncapi']], [['doctor']]])(
    'omnibus %j --help exits 0 with usage on stdout',
    async (args) => {
      const result = await runMain([...args, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: omnibus/);
    },
  );
});

describe.concurrent('omnibus on memory://', () => {
  it('doctor connects and prints the capabilities', async () => {
    const result = await runCli(['doctor', '--json'], { env: MEMORY });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { connected: boolean; transport: string; capabilities: { maxMessageBytes: number } };
    expect(report).toMatchObject({ connected: true, transport: 'memory', broker: { product: 'Omnibus memory broker (in this process)' } });
    expect(report.capabilities.maxMessageBytes).toBeGreaterThan(0);
  });

  it('publish validates every body against --topics before sending: a bad one exits 1 and names the field', async () => {
    const lines = `${JSON.stringify({ orderId: 'o-1', amount: 5 })}\n${JSON.stringify({ orderId: 'o-2', amount: -1 })}\n`;
    const result = await runCli(['publish', 'cli-orders', '--topics', TOPICS_FIXTURE], { env: MEMORY, stdin: lines });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/body 2 of 2 does not match the schema of topic "cli-orders": amount: .*nothing was sent/);
    expect(result.stdout).toBe('');
  });

  it('publish of a body that is not JSON exits 1', async () => {
    const result = await runMain(['publish', 't', '--data', '{oops'], MEMORY);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--data is not JSON/);
  });

  it('publish prints one id per message', async () => {
    const result = await runCli(['publish', 't', '--data', '{"n":1}', '--count', '3', '--json'], { env: MEMORY });
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as { published: number; ids: string[] };
    expect(out.published).toBe(3);
    expect(new Set(out.ids).size).toBe(3);
  });

  it('publish --file takes JSON lines; a file that is not there is bad usage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omnibus-publish-'));
    try {
      const file = join(dir, 'orders.jsonl');
      writeFileSync(file, '{"n":1}\n\n{"n":2}\n');
      const result = await runMain(['publish', 't', '--file', file, '--json'], MEMORY);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ topic: 't', published: 2 });
      const missing = await runMain(['publish', 't', '--file', join(dir, 'nope.jsonl')], MEMORY);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/--file .*nope\.jsonl: cannot read it \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stats of a topic nobody uses reports no group', async () => {
    const result = await runCli(['stats', 't', '--json'], { env: MEMORY });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ transport: 'memory', topics: [{ topic: 't', groups: [] }] });
  });

  it('dlq show of an id that is not there exits 1 and names it', async () => {
    const result = await runCli(['dlq', 'show', 't', 'no-such-id', '--wait', '0'], { env: MEMORY });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no dead letter with id no-such-id in t\.dlq/);
  });

  it('tail --from-beginning says that no transport can start a group at the beginning yet', async () => {
    const result = await runMain(['tail', 't', '--from-beginning'], MEMORY);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--from-beginning: the memory transport cannot start a new group at the beginning of a topic/);
  });
});
