import { backoffDelay, exponentialBackoff, pause, redactSecrets } from '@omnibus/core';

/**
 * Client errors are never passed on raw: their message, stack and cause chain are
 * copied with every known secret (and any `scheme://user:pass@`) redacted, keeping
 * the fields useful for handling (`name`, kafkajs `type`, `code`, `retriable`).
 */
export function sanitizeError(error: unknown, secrets: readonly string[], depth = 0): Error {
  if (!(error instanceof Error)) return new Error(redactSecrets(String(error), secrets));
  const copy = new Error(redactSecrets(error.message, secrets), depth < 3 && error.cause !== undefined ? { cause: sanitizeError(error.cause, secrets, depth + 1) } : undefined);
  copy.name = error.name;
  copy.stack = redactSecrets(error.stack ?? '', secrets);
  const source = error as Error & { type?: unknown; code?: unknown; retriable?: unknown };
  const target = copy as Error & { type?: unknown; code?: unknown; retriable?: unknown };
  if (source.type !== undefined) target.type = source.type;
  if (source.code !== undefined) target.code = source.code;
  if (source.retriable !== undefined) target.retriable = source.retriable;
  return copy;
}

/** One line describing an error, redacted. */
export function describeError(error: unknown, secrets: readonly string[]): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return redactSecrets(message, secrets);
}

/** kafkajs protocol error type (`REBALANCE_IN_PROGRESS`…), if any, looking through causes. */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const type = (current as Error & { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return undefined;
}

/** Errors a commit gets when the group moved on: expected around rebalances, not worth reporting. */
const REBALANCE_ERRORS = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID']);

export function isRebalanceError(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type !== undefined && REBALANCE_ERRORS.has(type);
}

/** Whether kafkajs marked the error (or its cause) retriable, e.g. a leader not elected yet. */
export function isRetriable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if ((current as Error & { retriable?: unknown }).retriable === true) return true;
  }
  return false;
}

/** 50, 100, 200… ms between the tries of `retrying`, capped at 1 s. */
const RETRYING_BACKOFF = exponentialBackoff(50, 1_000);

/**
 * Run an admin request again while it fails with a retriable error (a topic just
 * created may have no partition leader for a moment): up to `attempts` tries,
 * 50, 100, 200… ms apart (capped at 1 s).
 */
export async function retrying<T>(run: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (attempt >= attempts || !isRetriable(error)) throw error;
      await pause(backoffDelay(RETRYING_BACKOFF, attempt));
    }
  }
}
