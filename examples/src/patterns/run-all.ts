/**
 * `npm run examples`: every pattern example in turn on BROKER_URL (default memory://), its lines
 * printed as they come. A failed example does not stop the others; the exit code is 1 if any failed.
 */
import { pathToFileURL } from 'node:url';
import { runFanOutAndWorkQueue } from './fan-out-and-work-queue.js';
import { runFlashSale } from './flash-sale.js';
import { runIdempotentPayments } from './idempotent-payments.js';
import { runInventoryCatchUp } from './inventory-catch-up.js';
import { runLogPipeline } from './log-pipeline.js';
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
];

/** Run them all; the names of those that failed. */
export async function runAll(url: string, print: Print): Promise<string[]> {
  const failed: string[] = [];
  for (const [name, run] of PATTERN_EXAMPLES) {
    const start = performance.now();
    try {
      await run(url, print);
      print(`  ✓ ${name} (${(since(start) / 1000).toFixed(2)} s)\n`);
    } catch (error) {
      failed.push(name);
      print(`  ✗ ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
  }
  print(failed.length === 0 ? `all ${PATTERN_EXAMPLES.length} examples ran` : `${failed.length} of ${PATTERN_EXAMPLES.length} examples failed: ${failed.join(', ')}`);
  return failed;
}

const script = process.argv[1];
if (script && import.meta.url === pathToFileURL(script).href) {
  runAll(process.env.BROKER_URL ?? 'memory://', (line) => console.log(line)).then(
    (failed) => process.exit(failed.length === 0 ? 0 : 1),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
