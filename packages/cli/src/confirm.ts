import { createInterface } from 'node:readline/promises';
import type { CliIo } from './io.js';

/** Ask on the terminal; true only for "yes" (or "y"). Ctrl-C answers no. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `, { signal: io.interrupt });
    return /^(y|yes)$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}
