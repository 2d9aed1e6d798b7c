// The parent side of trace-child.ts: start a traced publisher or consumer process and collect
// the spans it exports and the reports it sends.
import { join, resolve } from 'node:path';
import { Signal } from '@omnibus/core';
import { spawnManaged, type ManagedProcess } from '@omnibus/test-support';
import type { PointRecord, SpanRecord } from '../../packages/opentelemetry/test/telemetry-fixture.js';
import type { ChildConfig, ChildReport } from './trace-scenario.js';

const SCRIPT = join(import.meta.dirname, 'trace-child.ts');
const ROOT = resolve(import.meta.dirname, '..', '..');

export class TracedProcess {
  readonly spans: SpanRecord[] = [];
  readonly reports: ChildReport[] = [];
  private readonly signal = new Signal();

  private constructor(private readonly process: ManagedProcess) {
    process.child.on('message', (report: ChildReport) => {
      if (report.type === 'span') this.spans.push(report.span);
      else this.reports.push(report);
      this.signal.notify();
    });
    void process.exited.then(() => this.signal.notify());
  }

  static async start(config: ChildConfig): Promise<TracedProcess> {
    const managed = await spawnManaged(`trace-child (${config.role}, ${config.transport})`, process.execPath, ['--import', 'tsx', '--conditions=@omnibus/source', SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, OMNIBUS_OTEL_CHILD: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    return new TracedProcess(managed);
  }

  /** Resolves with the first report of `type`; rejects if the child fails, exits first, or after `timeoutMs`. */
  async report<T extends ChildReport['type']>(type: T, timeoutMs: number): Promise<Extract<ChildReport, { type: T }>> {
    const find = () => this.reports.find((r) => r.type === type || r.type === 'failed');
    await this.signal.until(() => find() !== undefined || !this.process.alive, timeoutMs, () => `the ${this.process.name} to report '${type}' (output:\n${this.process.output(20)})`);
    const found = find();
    if (!found || found.type === 'failed') throw new Error(`${this.process.name} ${found ? `failed: ${found.error}` : 'exited'} before reporting '${type}':\n${this.process.output(30)}`);
    return found as Extract<ChildReport, { type: T }>;
  }

  /** Resolves once the exported spans satisfy `check`. */
  async waitForSpans(check: (spans: SpanRecord[]) => boolean, timeoutMs: number, what: string): Promise<SpanRecord[]> {
    await this.signal.until(() => check(this.spans) || !this.process.alive, timeoutMs, () => `${what} from the ${this.process.name} (spans: ${this.spans.map((s) => s.name).join(', ')}; output:\n${this.process.output(20)})`);
    if (!check(this.spans)) throw new Error(`${this.process.name} exited before ${what}:\n${this.process.output(30)}`);
    return this.spans;
  }

  async metrics(timeoutMs: number): Promise<Record<string, PointRecord[]>> {
    this.reports.splice(0, this.reports.length, ...this.reports.filter((r) => r.type !== 'metrics'));
    this.process.child.send({ type: 'metrics' });
    return (await this.report('metrics', timeoutMs)).metrics;
  }

  /** Close gracefully (the consumer drains its bus), then make sure the process is gone. */
  async close(): Promise<void> {
    if (this.process.alive && this.process.child.connected) {
      this.process.child.send({ type: 'close' });
      await this.report('closed', 15_000).catch(() => undefined);
    }
    await this.process.kill('SIGTERM', 5_000);
  }
}
