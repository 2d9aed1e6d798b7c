// The parent's handle on a consumer worker process (bench/worker.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const WORKER = fileURLToPath(new URL('../worker.ts', import.meta.url));

/**
 * Node flags of the worker: the same module resolution as the benchmark (the parent's --conditions,
 * so built packages by default, sources with `--conditions=@omnibus/source`; tsx for the bench's own
 * TypeScript), plus `--cpu-prof` into BENCH_CPU_PROF_DIR when profiling.
 */
function workerExecArgv(label: string): string[] {
  const conditions = process.execArgv.filter((arg) => arg.startsWith('--conditions='));
  const args = [...conditions, '--import', 'tsx'];
  const profDir = process.env.BENCH_CPU_PROF_DIR;
  if (profDir) args.push('--cpu-prof', `--cpu-prof-dir=${join(profDir, label)}`);
  return args;
}

type EventName = FromWorker['ev'];
type EventOf<E extends EventName> = Extract<FromWorker, { ev: E }>;

export class WorkerProcess {
  private readonly inbox: FromWorker[] = [];
  private waiter: (() => void) | undefined;
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: FromWorker) => {
      this.inbox.push(message);
      this.waiter?.();
    });
    child.on('exit', (code, signal) => {
      this.exited = `consumer process exited (${signal ?? `code ${code}`})`;
      this.waiter?.();
    });
  }

  /** Start a worker and wait until its side is connected. `label` names its profile directory. */
  static async start(init: WorkerInit, label: string, timeoutMs = 60_000): Promise<WorkerProcess> {
    // The worker's output goes to our stderr so stdout keeps only the result table.
    const child = fork(WORKER, [JSON.stringify(init)], { execArgv: workerExecArgv(label), stdio: ['ignore', 2, 2, 'ipc'] });
    const worker = new WorkerProcess(child);
    try {
      await worker.next('ready', timeoutMs);
    } catch (error) {
      worker.kill();
      throw error;
    }
    return worker;
  }

  send(message: ToWorker): void {
    this.child.send(message);
  }

  /**
   * The next message of this kind (other kinds stay in the inbox: a 'probe' may arrive before
   * 'subscribed'); an 'error' from the worker rejects.
   */
  async next<E extends EventName>(ev: E, timeoutMs: number): Promise<EventOf<E>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((m) => m.ev === ev || m.ev === 'error');
      if (index >= 0) {
        const [message] = this.inbox.splice(index, 1) as [FromWorker];
        if (message.ev === 'error') throw new Error(`consumer process: ${message.message}`);
        return message as EventOf<E>;
      }
      if (this.exited) throw new Error(this.exited);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`consumer process: no "${ev}" within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** True if a message of this kind has arrived (without consuming anything else). */
  has(ev: EventName): boolean {
    return this.inbox.some((m) => m.ev === ev);
  }

  /** Ask it to close its connections and exit; kill it if it does not within the timeout. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.send({ cmd: 'exit' });
    } catch {
      // Channel already closed.
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.kill();
  }

  kill(): void {
    if (!this.exited && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}
