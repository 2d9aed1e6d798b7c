// The parent side of consumer-child.ts: start a consumer process, follow which messages its handlers
// started and finished, SIGKILL it mid-handler or close it gracefully.
import { join, resolve } from 'node:path';
import { Signal } from '@omnibus/core';
import { spawnManaged, type ManagedProcess } from '@omnibus/test-support';
import type { ChildConfig, ChildReport } from './consumer-child.js';

const SCRIPT = join(import.meta.dirname, 'consumer-child.ts');
const ROOT = resolve(import.meta.dirname, '..', '..', '..');

export class ConsumerChild {
  private readonly running = new Map<string, number>();
  private readonly finished: string[] = [];
  private readonly signal = new Signal();
  private ready = false;
  private closed = false;
  private failure: string | undefined;

  private constructor(private readonly process: ManagedProcess) {
    process.child.on('message', (report: ChildReport) => this.onReport(report));
    void process.exited.then(() => this.signal.notify());
  }

  /** Start a consumer process and wait until it subscribed. */
  static async start(config: ChildConfig, timeoutMs = 60_000, script = SCRIPT): Promise<ConsumerChild> {
    const managed = await spawnManaged(`consumer-child (${config.transport})`, process.execPath, ['--import', 'tsx', '--conditions=@omnibus/source', script], {
      cwd: ROOT,
      env: { ...process.env, OMNIBUS_FAULTS_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const child = new ConsumerChild(managed);
    try {
      await child.signal.until(() => child.ready || child.failure !== undefined || !managed.alive, timeoutMs, () => 'the consumer child to subscribe');
    } catch (error) {
      await managed.kill('SIGKILL');
      throw new Error(`consumer child did not start: ${(error as Error).message}\n${managed.output(20)}`, { cause: error });
    }
    if (!child.ready) {
      await managed.kill('SIGKILL');
      throw new Error(`consumer child failed to start: ${child.failure ?? 'exited'}\n${managed.output(20)}`);
    }
    return child;
  }

  get pid(): number {
    return this.process.pid;
  }

  /** Ids whose handler started and has not returned. */
  get inFlight(): string[] {
    return [...this.running.keys()];
  }

  /** Ids whose handler returned, in order (an id twice if it was handled twice). */
  get done(): readonly string[] {
    return this.finished;
  }

  /** stderr/stdout of the child (its transport logs warnings and errors there). */
  output(lines = 30): string {
    return this.process.output(lines);
  }

  /** Resolves when `condition()` holds, re-checked on every report from the child. */
  waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return this.signal.until(
      () => condition() || !this.process.alive,
      timeoutMs,
      () => `${what} (child: ${this.finished.length} done, ${this.running.size} running)`,
    ).then(() => {
      if (!condition()) throw new Error(`consumer child exited (${JSON.stringify(this.process.exitStatus)}) while waiting for ${what}:\n${this.process.output(20)}`);
    });
  }

  /**
   * SIGKILL now. Returns the ids whose handlers started and never finished: computed after the IPC
   * channel closed, so a 'done' that was already on its way is counted as done, not unfinished.
   */
  async kill(): Promise<string[]> {
    const { child } = this.process;
    const disconnected = child.connected ? new Promise<void>((resolve) => child.once('disconnect', resolve)) : Promise.resolve();
    await this.process.kill('SIGKILL');
    await disconnected;
    this.closed = true;
    return this.inFlight;
  }

  /**
   * SIGKILL the child the moment `condition(report)` holds, checked synchronously on every report
   * (a handler started or finished), so the kill lands in the state the condition describes. Resolves
   * with the unfinished ids (see kill()); rejects if the child exits first or after `timeoutMs`.
   */
  async killWhen(condition: (report: ChildReport) => boolean, timeoutMs: number, what: string): Promise<string[]> {
    const { child } = this.process;
    const disconnected = child.connected ? new Promise<void>((resolve) => child.once('disconnect', resolve)) : Promise.resolve();
    let killed = false;
    this.beforeNotify = (report) => {
      if (killed || !condition(report)) return;
      killed = true;
      this.beforeNotify = undefined;
      child.kill('SIGKILL');
    };
    try {
      await this.signal.until(() => killed || !this.process.alive, timeoutMs, () => `${what} (child: ${this.finished.length} done, ${this.running.size} running)`);
    } finally {
      this.beforeNotify = undefined;
    }
    if (!killed) throw new Error(`consumer child exited (${JSON.stringify(this.process.exitStatus)}) while waiting for ${what}:\n${this.process.output(20)}`);
    await this.process.exited;
    await disconnected;
    this.closed = true;
    return this.inFlight;
  }

  /** Graceful close (drain, then disconnect); the process exits afterwards. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closed || !this.process.alive) return;
    this.closed = true;
    this.process.child.send({ type: 'close' });
    await this.signal.until(() => !this.process.alive, timeoutMs, () => 'the consumer child to close and exit').catch(async (error: unknown) => {
      await this.process.kill('SIGKILL');
      throw error;
    });
  }

  private onReport(report: ChildReport): void {
    switch (report.type) {
      case 'ready':
        this.ready = true;
        break;
      case 'start':
        this.running.set(report.id, (this.running.get(report.id) ?? 0) + 1);
        break;
      case 'done': {
        const left = (this.running.get(report.id) ?? 1) - 1;
        if (left > 0) this.running.set(report.id, left);
        else this.running.delete(report.id);
        this.finished.push(report.id);
        this.onDone?.(report.id);
        break;
      }
      case 'failed':
        this.failure = report.error;
        break;
      case 'closed':
        break;
    }
    this.beforeNotify?.(report);
    this.signal.notify();
  }

  private beforeNotify: ((report: ChildReport) => void) | undefined;

  /** Called for every finished id (set by the test to feed its ledger). */
  onDone: ((id: string) => void) | undefined;
}
