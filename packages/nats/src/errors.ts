import { JetStreamApiError } from '@nats-io/jetstream';
import { redactSecrets } from '@omnibus/core';

/** JetStream API error codes this transport acts on. */
export const ApiCodes = {
  streamNotFound: 10059,
  consumerNotFound: 10014,
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
