import { redactSecrets } from '@omnibus/core';

/**
 * Client errors are rebuilt before they travel: their text is scrubbed of the password and TLS
 * passphrase, and only the AMQP condition is kept. The original object is never attached as a
 * cause: rhea's errors hold the link, session and connection (and so the connection options).
 */
export class Scrubber {
  constructor(private readonly secrets: readonly string[]) {}

  text(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  /** A safe copy of any thrown value or AMQP error ({ condition, description }). */
  error(error: unknown): Error {
    const amqp = error as { condition?: unknown; description?: unknown; message?: unknown; name?: unknown; code?: unknown } | undefined;
    const condition = typeof amqp?.condition === 'string' ? amqp.condition : undefined;
    const description = typeof amqp?.description === 'string' ? amqp.description : typeof amqp?.message === 'string' ? amqp.message : String(error);
    const copy = new Error(this.text(condition ? `${condition}: ${description}` : description));
    if (typeof amqp?.name === 'string' && error instanceof Error) copy.name = amqp.name;
    const code = condition ?? amqp?.code;
    if (typeof code === 'string' || typeof code === 'number') (copy as Error & { code?: unknown }).code = code;
    return copy;
  }
}

/** The AMQP error condition of a scrubbed error (`amqp:unauthorized-access`, …), if any. */
export function conditionOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
