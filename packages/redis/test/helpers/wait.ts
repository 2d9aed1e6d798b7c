/**
 * Re-check an outside condition (Redis state, which sends no events) until it holds.
 * Used only where no event exists to wait on; handlers are awaited with handlerSpy/Signal.
 */
export async function eventually(check: () => boolean | Promise<boolean>, options: { timeoutMs?: number; what: string; everyMs?: number }): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
      last = undefined;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 25));
  }
}
