// One burst in its own process, so its peak RSS is its own:
//   node --import tsx --conditions=@omnibus/source burst-child.ts
// Configuration in OMNIBUS_BURST_CHILD (JSON, see BurstConfig). The child subscribes one group
// (so the group exists before anything is published and counts what it receives), calls
// bus.publish `count` times without awaiting any, waits for every one to settle, then waits
// until the group received every message that was accepted. Its last stdout line is the
// BurstReport as JSON, after `[burst] <transport>: …`.
import { createBus, defineTopic, isOmnibusError, type Logger } from '@omnibus/core';
import { z } from 'zod';
import { REPORT_PREFIX, type BurstConfig, type BurstReport } from './burst-protocol.js';

const stderrLog =
  (level: string) =>
  (fields: unknown, message?: string): void => {
    process.stderr.write(`[burst-child ${level}] ${message ?? ''} ${JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}\n`);
  };
const logger: Logger = { debug: () => {}, info: () => {}, warn: stderrLog('warn'), error: stderrLog('error') };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.OMNIBUS_BURST_CHILD ?? '{}') as BurstConfig;
  const uncaught: string[] = [];
  process.on('uncaughtException', (error) => uncaught.push(`${error.name}: ${error.message}`));
  process.on('unhandledRejection', (reason) => uncaught.push(`unhandled rejection: ${String(reason)}`));

  const started = Date.now();
  const bus = await createBus({ url: config.url, options: config.options, logger });
  const topic = defineTopic(config.topic, z.string());
  const received = new Set<string>();
  let expected = Number.POSITIVE_INFINITY;
  let allReceived: () => void = () => {};
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  await bus.subscribe(
    topic,
    async (message) => {
      received.add(message.id);
      if (received.size >= expected) allReceived();
    },
    { group: config.group, concurrency: 64 },
  );

  const body = 'x'.repeat(config.bodyChars);
  const ids = new Set<string>();
  const kinds = new Map<string, { name: string; code: string | undefined; typed: boolean; message: string; count: number }>();
  let rejected = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < config.count; i++) {
    pending.push(
      bus.publish(topic, body).then(
        (id) => void ids.add(id),
        (error: unknown) => {
          rejected += 1;
          const name = error instanceof Error ? error.name : typeof error;
          const code = isOmnibusError(error) ? error.code : undefined;
          const message = error instanceof Error ? error.message : String(error);
          const key = `${name}|${code}|${message.slice(0, 300)}`;
          const kind = kinds.get(key) ?? { name, code, typed: isOmnibusError(error), message: message.slice(0, 300), count: 0 };
          kind.count += 1;
          kinds.set(key, kind);
        },
      ),
    );
  }
  await Promise.all(pending);
  pending.length = 0;
  const publishSeconds = (Date.now() - started) / 1000;

  expected = ids.size;
  const receivedAccepted = () => [...ids].filter((id) => received.has(id)).length;
  if (received.size < expected) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, config.consumeTimeoutMs)))]);
    clearTimeout(timer);
  }
  const report: BurstReport = {
    transport: config.transport,
    published: ids.size,
    rejected,
    rejections: [...kinds.values()],
    received: receivedAccepted(),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    publishSeconds,
    seconds: (Date.now() - started) / 1000,
    uncaught,
  };
  await bus.close().catch((error: unknown) => uncaught.push(`close: ${String(error)}`));
  process.stdout.write(
    `[burst] ${report.transport}: published=${report.published} rejected=${report.rejected} received=${report.received} peakRssMiB=${report.peakRssMiB} seconds=${report.seconds.toFixed(1)} (publish ${publishSeconds.toFixed(1)})\n`,
  );
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`[burst-child] failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    process.exit(1);
  },
);
