import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { Signal } from '@omnibus/core';

export interface ChildEvent {
  readonly event: string;
  readonly [field: string]: unknown;
}

/** A child Node process running a TypeScript fixture, whose JSON stdout lines can be awaited. */
export class FixtureProcess {
  readonly events: ChildEvent[] = [];
  private readonly signal = new Signal();
  private readonly child: ChildProcess;
  private stderr = '';
  readonly exited: Promise<NodeJS.Signals | number | null>;

  constructor(fixture: string, env: Record<string, string>) {
    const script = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
    // The source condition resolves @omnibus/* to their TypeScript sources, as the tests do.
    this.child = spawn(process.execPath, ['--conditions=@omnibus/source', '--import', 'tsx', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as ChildEvent);
      } catch {
        this.events.push({ event: 'text', line });
      }
      this.signal.notify();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(signal ?? code)));
    void this.exited.then(() => this.signal.notify());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async waitFor(event: string, timeoutMs = 20_000): Promise<ChildEvent> {
    let found: ChildEvent | undefined;
    await this.signal.until(
      () => (found = this.events.find((e) => e.event === event)) !== undefined || this.child.exitCode !== null,
      timeoutMs,
      () => `the child to report "${event}" (events: ${JSON.stringify(this.events)}, stderr: ${this.stderr.slice(-2_000)})`,
    );
    if (!found) throw new Error(`the child exited before reporting "${event}": ${this.stderr.slice(-2_000)}`);
    return found;
  }

  /** SIGKILL: no cleanup, no acks, no goodbyes. Resolves once it is gone. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
