/**
 * `npm run examples`: every pattern example in turn on BROKER_URL (default memory://), its lines
 * printed as they come; `npm run examples -- flash-sale log-pipeline` runs those only. A failed
 * example does not stop the others; the exit code is 1 if any failed.
 */
import { pathToFileURL } from 'node:url';
import { runFanOutAndWorkQueue } from './fan-out-and-work-queue.js';
import { runFlashSale } from './flash-sale.js';
import { runIdempotentPayments } from './idempotent-payments.js';
import { runInventoryCatchUp } from './inventory-catch-up.js';
import { runLogPipeline } from './log-pipeline.js';
import { runOutbox } from './outbox.js';
import { runRegistration } from './registration.js';
import { since, type Print } from './shared.js';

/** Every pattern example, in the order of examples/README.md. */
export const PATTERN_EXAMPLES: ReadonlyArray<readonly [name: string, run: (url: string, print: Print) => Promise<unknown>]> = [
  ['registration', runRegistration],
  ['inventory-catch-up', runInventoryCatchUp],
  ['flash-sale', runFlashSale],
  ['log-pipeline', runLogPipeline],
  ['fan-out-and-work-queue', runFanOutAndWorkQueue],
  ['idempotent-payments', runIdempotentPayments],
  ['outbox', runOutbox],
];

/** Run them all (or those named); the names of those that failed. */
export async function runAll(url: string, print: Print, only: readonly string[] = []): Promise<string[]> {
  const unknown = only.filter((name) => !PATTERN_EXAMPLES.some(([known]) => known === name));
  if (unknown.length > 0) throw new Error(`no example named ${unknown.join(', ')}: pick from ${PATTERN_EXAMPLES.map(([name]) => name).join(', ')}`);
  const chosen = PATTERN_EXAMPLES.filter(([name]) => only.length === 0 || only.includes(name));
  const failed: string[] = [];
  for (const [name, run] of chosen) {
    const start = performance.now();
    try {
      const result = (await run(url, print)) as { ran?: boolean; supported?: boolean };
      // An example that could not show its point here (no PostgreSQL, no bound on the transport) said why.
      const mark = result.ran === false || result.supported === false ? '○ nothing demonstrated by' : '✓';
      print(`  ${mark} ${name} (${(since(start) / 1000).toFixed(2)} s)\n`);
    } catch (error) {
      failed.push(name);
      print(`  ✗ ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
  }
  print(failed.length === 0 ? `${chosen.length} example(s) ran` : `${failed.length} of ${chosen.length} examples failed: ${failed.join(', ')}`);
  return failed;
}

const script = process.argv[1];
if (script && import.meta.url === pathToFileURL(script).href) {
  runAll(process.env.BROKER_URL ?? 'memory://', (line) => console.log(line), process.argv.slice(2)).then(
    (failed) => process.exit(failed.length === 0 ? 0 : 1),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
