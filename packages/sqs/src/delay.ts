/** SQS delays a message by at most 15 minutes (DelaySeconds), in whole seconds. */
export const MAX_DELAY_SECONDS = 900;

/**
 * The SQS delay of a message due in `delayMs`: whole seconds rounded up (never early), at most 15
 * minutes; a longer delay also gets its due time, and the message is sent on again (a hop of up to
 * 15 minutes each, see subscription.ts) until it is due.
 */
export function delayOf(delayMs: number, now = Date.now()): { delaySeconds: number; dueAt: number | undefined } {
  if (!(delayMs > 0)) return { delaySeconds: 0, dueAt: undefined };
  const seconds = Math.ceil(delayMs / 1000);
  if (seconds <= MAX_DELAY_SECONDS) return { delaySeconds: seconds, dueAt: undefined };
  return { delaySeconds: MAX_DELAY_SECONDS, dueAt: now + delayMs };
}
