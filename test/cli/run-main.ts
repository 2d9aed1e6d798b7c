// Runs the command line in this process (main() with streams of its own), for the checks that
// are about parsing and help text only: the same code as the bin less bin.ts, without the second
// of Node starting up that each child process costs. Whatever touches a broker, signals or the
// process's exit goes through run-cli.ts instead.
import { PassThrough, Readable } from 'node:stream';
import { main } from '@omnibus/cli';

export interface MainResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runMain(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<MainResult> {
  const capture = () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    return { stream, text: () => text };
  };
  const stdout = capture();
  const stderr = capture();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, stdin: Readable.from([]), env: { NO_COLOR: '1', ...env }, interrupt: new AbortController().signal });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
