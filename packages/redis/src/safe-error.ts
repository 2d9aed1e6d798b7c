import { redactSecrets } from '@omnibus/core';

/** Properties of Node's system errors worth keeping on a copy (never a command or its arguments). */
const KEPT = ['code', 'errno', 'syscall', 'address', 'port'] as const;
/** Causes followed at most this deep. */
const MAX_DEPTH = 5;

/** The message of any thrown value, with URLs and known secrets redacted. */
export function safeMessage(error: unknown, secrets: readonly string[]): string {
  const text = error instanceof Error ? error.message : String(error);
  return redactSecrets(text, secrets);
}

/**
 * A copy of a thrown value that is safe to log or to hand to a caller as a `cause`: its name,
 * redacted message and stack, the system-error fields of `KEPT` and a copy of its cause chain,
 * nothing else. (An ioredis `ReplyError` can carry the failed command with its arguments, which
 * for AUTH is the password: such fields are never copied.)
 */
export function safeError(error: unknown, secrets: readonly string[], prefix?: string, depth = 0): Error {
  const message = safeMessage(error, secrets);
  const safe = new Error(prefix ? `${prefix}: ${message}` : message);
  if (!(error instanceof Error)) return safe;
  safe.name = error.name;
  if (error.stack !== undefined) {
    const frames = error.stack.slice(error.stack.indexOf('\n') + 1 || error.stack.length);
    safe.stack = redactSecrets(`${safe.name}: ${safe.message}${frames ? `\n${frames}` : ''}`, secrets);
  }
  const fields = error as unknown as Record<string, unknown>;
  for (const name of KEPT) {
    const value = fields[name];
    if (typeof value === 'string') Object.assign(safe, { [name]: redactSecrets(value, secrets) });
    else if (typeof value === 'number') Object.assign(safe, { [name]: value });
  }
  if (error.cause !== undefined && depth < MAX_DEPTH) safe.cause = safeError(error.cause, secrets, undefined, depth + 1);
  return safe;
}
