import { setTimeout as delay } from 'node:timers/promises';

/** Resolves when `signal` aborts (Ctrl-C), or at once if it already did. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Wait `ms` (pacing, polling intervals), ending early on Ctrl-C. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await delay(ms, undefined, { signal }).catch(() => {});
}
