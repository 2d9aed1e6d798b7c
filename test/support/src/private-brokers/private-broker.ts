// A broker process a test owns, on its own free port(s) with its own temporary data dir:
// restartable (crash with SIGKILL or stop with SIGTERM, then start on the same port and data), and
// removed by close() or, whatever happens to the test process, by processes.ts (cleanupAll(), the
// exit hook, the reaper). The shared brokers on the standard ports are never touched.
// The launchers are redis.ts, nats.ts, kafka.ts and rabbitmq.ts.
import { removeTempDir, spawnManaged, type ManagedProcess } from '../processes.js';
import type { PrivateBrokerKind } from './availability.js';

export interface LaunchSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run in its own process group and signal the whole group (a wrapper script starts the broker). */
  readonly group?: boolean;
  /** Printed once the broker serves clients. */
  readonly readyLine: RegExp;
  /** Protocol check after the ready line. */
  readonly probe: () => Promise<boolean>;
  readonly startTimeoutMs: number;
}

export interface RestartTimings {
  readonly downMs: number;
  readonly upMs: number;
}

/** A broker process a test owns: start, stop, restart, close (kill + remove its data). */
export class PrivateBroker {
  private process: ManagedProcess | undefined;
  private closed = false;
  /** Every start's output, for diagnostics after a restart. */
  private history = '';

  constructor(
    readonly kind: PrivateBrokerKind,
    /** Where clients connect (for Kafka: the advertised port, usually a proxy in front of `port`). */
    readonly url: string,
    /** The port the broker itself listens on for clients. */
    readonly port: number,
    readonly dataDir: string,
    private readonly spec: LaunchSpec,
  ) {}

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  get running(): boolean {
    return this.process?.alive ?? false;
  }

  async start(): Promise<number> {
    if (this.closed) throw new Error(`${this.spec.name} is closed`);
    if (this.process?.alive) return 0;
    const t0 = Date.now();
    const { name, command, args, cwd, env, group, readyLine, probe, startTimeoutMs } = this.spec;
    const child = await spawnManaged(name, command, args, { cwd, env: env ?? process.env, group: group ?? false });
    this.process = child;
    try {
      await child.waitForOutput(readyLine, startTimeoutMs);
      const deadline = Date.now() + startTimeoutMs;
      // The ready line is the event; the probe only confirms the protocol answers. A few retries
      // cover the gap between a log line and the listener accepting requests.
      while (!(await probe())) {
        if (!child.alive) throw new Error(`${name} exited`);
        if (Date.now() > deadline) throw new Error(`${name} printed ${readyLine} but does not answer on :${this.port}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } catch (error) {
      this.history += child.output();
      await child.kill('SIGKILL');
      throw new Error(`${name} did not start: ${(error as Error).message}\n--- output ---\n${child.output(40)}`, { cause: error });
    }
    return Date.now() - t0;
  }

  /** Stop the process: SIGKILL is a crash, SIGTERM a clean shutdown. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    const t0 = Date.now();
    const child = this.process;
    if (!child) return 0;
    await child.kill(signal, 60_000);
    this.history += child.output();
    return Date.now() - t0;
  }

  /** Stop (crash by default) and start again on the same port and data dir. */
  async restart(options: { signal?: NodeJS.Signals; whileDown?: () => Promise<void> } = {}): Promise<RestartTimings> {
    const downMs = await this.stop(options.signal ?? 'SIGKILL');
    await options.whileDown?.();
    const upMs = await this.start();
    return { downMs, upMs };
  }

  /** Output of the current (or last) process. */
  logTail(lines = 40): string {
    return (this.process?.output(lines) ?? this.history.split('\n').slice(-lines).join('\n')).trim();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.process?.kill('SIGKILL');
    removeTempDir(this.dataDir);
  }
}

/** Start `broker`; if that fails, close it (kill + remove its data) and rethrow. */
export async function startOrClose(broker: PrivateBroker): Promise<void> {
  try {
    await broker.start();
  } catch (error) {
    await broker.close();
    throw error;
  }
}
