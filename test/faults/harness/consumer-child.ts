// A consumer in its own process, so a test can SIGKILL it in the middle of handlers.
//   node --import tsx --conditions=@omnibus/source consumer-child.ts
// Configuration comes in OMNIBUS_FAULTS_CHILD (JSON, see ChildConfig); it reports to the parent over
// IPC: {type:'ready'}, then {type:'start', id, attempt} when a handler starts and {type:'done', id}
// when it returns (the delivery is acked right after). On {type:'close'} it closes the bus gracefully.
import { createBus, defineTopic, loadTransportModule, type Logger } from '@omnibus/core';
import { FaultBody, type FaultTransportName } from './topic.js';

export interface ChildConfig {
  readonly transport: FaultTransportName;
  readonly url: string;
  readonly options: Record<string, unknown>;
  readonly topic: string;
  readonly group: string;
  readonly concurrency: number;
  /** Simulated work per message (the handler awaits a timer this long). */
  readonly workMs: number;
  /**
   * Handlers that start after this many finished never finish (they wait for the SIGKILL), so a
   * kill after that point lands mid-handler whatever the IPC latency. Undefined: all finish.
   */
  readonly hangAfterDone?: number;
}

export type ChildReport =
  | { readonly type: 'ready' }
  | { readonly type: 'start'; readonly id: string; readonly attempt: number }
  | { readonly type: 'done'; readonly id: string }
  | { readonly type: 'closed' }
  | { readonly type: 'failed'; readonly error: string };

const send = (report: ChildReport) => process.send?.(report);

// Warnings and errors go to stderr, which the parent keeps for its failure messages.
const log =
  (level: string) =>
  (fields: unknown, message?: string): void => {
    const text = typeof fields === 'string' ? fields : `${message ?? ''} ${JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`;
    process.stderr.write(`[consumer-child ${process.pid} ${level}] ${text}\n`);
  };
const logger: Logger = { debug: () => {}, info: () => {}, warn: log('warn'), error: log('error') };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OMNIBUS_FAULTS_CHILD ?? '{}') as ChildConfig;
  const module = await loadTransportModule(config.transport);
  const transport = module.createTransport({ url: config.url, options: config.options, logger });
  const bus = await createBus({ transport, logger, drainTimeoutMs: 10_000 });
  const topic = defineTopic(config.topic, FaultBody);
  let done = 0;
  await bus.subscribe(
    topic,
    async (message) => {
      const hang = config.hangAfterDone !== undefined && done >= config.hangAfterDone;
      send({ type: 'start', id: message.id, attempt: message.attempt });
      if (hang) await new Promise(() => {});
      await new Promise((resolve) => setTimeout(resolve, config.workMs));
      done += 1;
      send({ type: 'done', id: message.id });
    },
    { group: config.group, concurrency: config.concurrency },
  );
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'close') return;
    void bus.close().then(() => {
      send({ type: 'closed' });
      process.disconnect?.();
    });
  });
  // The parent went away: nothing to report to any more.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  process.stderr.write(`[consumer-child ${process.pid}] failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
  process.disconnect?.();
});
