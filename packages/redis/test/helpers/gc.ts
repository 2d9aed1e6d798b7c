import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The test process runs without --expose-gc: turning the flag on now makes a fresh context
// get a global gc(), which collects the whole isolate.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Collect garbage for real: a WeakRef target stays alive until the job that last read it has
 * ended, so each collection runs after a macrotask.
 */
export async function collectGarbage(rounds = 3): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
}
