import { JetStreamApiError } from '@nats-io/jetstream';
import { redactSecrets } from '@omnibus/core';

/** JetStream API error codes this transport acts on. */
export const ApiCodes = {
  streamNotFound: 10059,
  consumerNotFound: 10014,
  /** "stream store failed": the server did not store a published message; its description says why. */
  storeFailed: 10077,
} as const;

export function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

export function isStreamNotFound(error: unknown): boolean {
  return apiCode(error) === ApiCodes.streamNotFound || (error instanceof Error && /stream not found/i.test(error.message));
}

export function isConsumerNotFound(error: unknown): boolean {
  return apiCode(error) === ApiCodes.consumerNotFound || (error instanceof Error && /consumer not found/i.test(error.message));
}

/**
 * A publish refused by a stream at its limits with `discard: new` (a bounded topic's `reject`,
 * or limits set by hand): `maximum messages exceeded`, `maximum bytes exceeded` or `maximum
 * messages per subject exceeded` (err_code 10077, status 503). Nothing was stored, and trying
 * again at once finds the same stream: it is not a transient failure.
 */
export function isStreamFull(error: unknown): boolean {
  return apiCode(error) === ApiCodes.storeFailed && error instanceof Error && /maximum (messages|bytes|messages per subject) exceeded/i.test(error.message);
}

/** A client error's message with credentials removed, for our own error messages and logs; never empty. */
export function errorText(error: unknown, secrets: readonly string[]): string {
  if (!(error instanceof Error)) return redactSecrets(String(error), secrets) || 'an empty error value';
  const message = error.message.trim();
  if (message.length === 0) return `${error.name} (the NATS client gave no message)`;
  return redactSecrets(error.name === 'Error' ? message : `${error.name}: ${message}`, secrets);
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
