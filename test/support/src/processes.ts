// Every process and temporary directory a test starts outside itself (private brokers, consumer
// children) goes through here, so that all of them are removed however the test process ends:
//   - normally: the test's afterAll calls close() on what it started, or cleanupAll(),
//   - on process exit (an uncaught error, vitest tearing the worker down): an 'exit' hook SIGKILLs
//     what is still alive and removes the directories, synchronously,
//   - when the test process itself is killed: a detached reaper (reaper.mjs) notices its stdin
//     closing and does the same.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Signal } from '@omnibus/core';

const REAPER = join(import.meta.dirname, 'reaper.mjs');
const MAX_OUTPUT_CHARS = 64 * 1024;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A child process with its recent output, awaitable exit and output. */
export class ManagedProcess {
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private text = '';
  private readonly signal = new Signal();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    /** The child leads its own process group, and signals go to the whole group (a wrapper script and what it started). */
    readonly group = false,
  ) {
    const capture = (chunk: Buffer) => {
      this.text = (this.text + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
      this.signal.notify();
    };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    this.exited = new Promise<Exit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        registry.forget(this);
        this.signal.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** What to signal: the pid, or the negated pid (the process group) for group processes. */
  get target(): number {
    return this.group ? -this.pid : this.pid;
  }

  private signalNow(signal: NodeJS.Signals): void {
    try {
      process.kill(this.target, signal);
    } catch {
      // already gone
    }
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  /** How it exited, once it did. */
  get exitStatus(): Exit | undefined {
    return this.exit;
  }

  /** The last 64 KiB of stdout + stderr (or the last `lines` lines of it). */
  output(lines?: number): string {
    return lines === undefined ? this.text : this.text.split('\n').slice(-lines).join('\n');
  }

  /** Resolves when the output matches `pattern`; rejects if the process exits first or after `timeoutMs`. */
  async waitForOutput(pattern: RegExp, timeoutMs: number, from = 0): Promise<void> {
    const seen = () => pattern.test(this.text.slice(from));
    await this.signal.until(() => seen() || !this.alive, timeoutMs, () => `${this.name} to print ${pattern} (last output:\n${this.output(15)})`);
    if (!seen()) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)}) before printing ${pattern}; last output:\n${this.output(30)}`);
  }

  /** Characters of output so far (a mark for waitForOutput(..., from)). */
  get outputMark(): number {
    return this.text.length;
  }

  /** Send `signal` (SIGKILL by default) and wait for the exit. Resolves at once if it already exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 30_000): Promise<Exit> {
    if (!this.alive) {
      // A group leader that exited may have left members (its children) behind.
      if (this.group) {
        this.signalNow('SIGKILL');
        registry.release(this);
      }
      return this.exit as Exit;
    }
    this.signalNow(signal);
    let timer: NodeJS.Timeout | undefined;
    const escalated = new Promise<Exit>((resolve) => {
      timer = setTimeout(() => {
        this.signalNow('SIGKILL');
        resolve(this.exited);
      }, timeoutMs);
    });
    try {
      const exit = await Promise.race([this.exited, escalated]);
      if (this.group) {
        this.signalNow('SIGKILL');
        registry.release(this);
      }
      return exit;
    } finally {
      clearTimeout(timer);
    }
  }
}

class Registry {
  private readonly processes = new Set<ManagedProcess>();
  private readonly dirs = new Set<string>();
  private reaper: ChildProcess | undefined;
  private hooked = false;

  track(process: ManagedProcess): void {
    this.processes.add(process);
    this.tell(`+${process.target}`);
  }

  forget(process: ManagedProcess): void {
    // A group leader's exit does not end its group: keep it registered until kill() signalled the group.
    if (process.group) return;
    if (this.processes.delete(process)) this.tell(`-${process.target}`);
  }

  /** After kill(): the process and (for groups) every member is gone. */
  release(process: ManagedProcess): void {
    if (this.processes.delete(process)) this.tell(`-${process.target}`);
  }

  trackDir(dir: string): void {
    this.dirs.add(dir);
    this.tell(`d${dir}`);
  }

  forgetDir(dir: string): void {
    if (this.dirs.delete(dir)) this.tell(`r${dir}`);
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled([...this.processes].map((p) => p.kill('SIGKILL')));
    for (const dir of [...this.dirs]) {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      this.forgetDir(dir);
    }
  }

  private tell(line: string): void {
    this.ensureWatchers();
    this.reaper?.stdin?.write(`${line}\n`);
  }

  private ensureWatchers(): void {
    if (!this.hooked) {
      this.hooked = true;
      process.once('exit', () => {
        for (const p of this.processes) {
          try {
            process.kill(p.target, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
      });
    }
    if (this.reaper && this.reaper.exitCode === null && this.reaper.signalCode === null) return;
    const reaper = spawn(process.execPath, [REAPER], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    reaper.on('error', () => {});
    reaper.stdin?.on('error', () => {});
    // Neither the reaper nor its pipe may keep the test process alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.reaper = reaper;
    for (const p of this.processes) reaper.stdin?.write(`+${p.target}\n`);
    for (const dir of this.dirs) reaper.stdin?.write(`d${dir}\n`);
  }
}

const registry = new Registry();

/** Spawn a process that is guaranteed to be killed when the test process ends. Resolves once it runs. */
export async function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions & { group?: boolean } = {},
): Promise<ManagedProcess> {
  const { group = false, ...spawnOptions } = options;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions, detached: group });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`cannot start ${name} (${command}): ${error.message}`, { cause: error })));
  });
  const managed = new ManagedProcess(name, child, group);
  registry.track(managed);
  return managed;
}

/** A fresh directory under the OS temp dir, removed by cleanupAll() (or the exit hooks). */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `omnibus-private-${label}-`));
  registry.trackDir(dir);
  return dir;
}

/** Remove one directory made by tempDir() now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  registry.forgetDir(dir);
}

/** Kill every process and remove every directory this module created. */
export function cleanupAll(): Promise<void> {
  return registry.cleanup();
}
