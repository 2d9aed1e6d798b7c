import { redactSecrets } from '@omnibus/core';

/**
 * Client errors are rebuilt before they travel: their text is scrubbed of the password and
 * TLS passphrase (and any URL credentials), and only safe AMQP fields are kept. The original
 * object is never attached as a cause, since its properties may hold the connection options.
 */
export class Scrubber {
  constructor(private readonly secrets: readonly string[]) {}

  text(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  /** A safe copy of any thrown value: message scrubbed, AMQP `code` (reply code or errno) kept. */
  error(error: unknown): Error {
    const source = error instanceof Error ? error : new Error(String(error));
    const copy = new Error(this.text(source.message));
    copy.name = source.name;
    const code = (source as { code?: unknown }).code;
    if (typeof code === 'number' || typeof code === 'string') (copy as Error & { code?: unknown }).code = code;
    return copy;
  }
}

/** The AMQP reply code of a channel/connection error (404 NOT_FOUND, 406 PRECONDITION_FAILED, …). */
export function replyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
