// Runs the real `omnibus` bin from sources, as a user would run it: a child process with its own
// stdin, stdout and stderr (node --conditions=@omnibus/source --import tsx packages/cli/src/bin.ts).
// Every child is killed when the test file ends, whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { Signal } from '@omnibus/core';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'packages', 'cli', 'src', 'bin.ts');
const running = new Set<ChildProcess>();

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** OMNIBUS_URL and the like; the parent's environment is not passed on (but PATH and HOME are). */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to stdin, which is then closed; no stdin: closed at once (not a terminal). */
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

/** A running `omnibus` process. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly done: Promise<CliResult>;
  private readonly changed = new Signal();

  constructor(
    readonly args: readonly string[],
    private readonly child: ChildProcess,
    timeoutMs: number,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
      this.changed.notify();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString('utf8');
      this.changed.notify();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    this.done = new Promise<CliResult>((resolve) => {
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        running.delete(child);
        this.changed.notify();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Wait until stderr (or stdout) matches, e.g. the "tailing ..." line that says the tail is subscribed. */
  async waitFor(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stderr', timeoutMs = 30_000): Promise<void> {
    await this.changed.until(() => pattern.test(this[stream]), timeoutMs, () => `omnibus ${this.args.join(' ')} to print ${pattern} on ${stream}; stdout: ${this.stdout.slice(-500)} stderr: ${this.stderr.slice(-1_000)}`);
  }

  /** Ctrl-C. */
  interrupt(): void {
    this.child.kill('SIGINT');
  }

  /** Killed for good: no handler, no cleanup (a crash, an OOM kill). */
  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export function startCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawn(process.execPath, ['--conditions=@omnibus/source', '--import', 'tsx', BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  const cli = new CliProcess(args, child, options.timeoutMs ?? 60_000);
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  else child.stdin?.end();
  return cli;
}

/** Run `omnibus args...` to its end. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** The fixture module of topics (`--topics`); its topic names come from the environment so each test has its own. */
export const TOPICS_FIXTURE = join(import.meta.dirname, 'fixtures', 'topics.ts');
