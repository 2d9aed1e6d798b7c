import { redactSecrets, redactUrl } from '@omnibus/core';
import { UsageError } from './exit-codes.js';

/**
 * The broker URL of a command (`--url`, else OMNIBUS_URL) and what may never be printed of it.
 * Every text the CLI prints about the connection goes through `scrub`: core's createBus already
 * scrubs its errors, this is the second lock for whatever else reaches the terminal.
 */
export class BrokerUrl {
  /** The password or token of the URL, found the way core reads it (userinfo runs to the last `@`). */
  private readonly secrets: readonly string[];

  private constructor(readonly url: string) {
    this.secrets = secretsOfUrl(url);
  }

  static from(option: string | undefined, env: Readonly<Record<string, string | undefined>>): BrokerUrl {
    const url = option ?? env.OMNIBUS_URL;
    if (url === undefined || url.trim() === '') {
      throw new UsageError('no broker URL: pass --url <url> or set OMNIBUS_URL (e.g. amqp://user:pass@host:5672, kafka://host:9092, redis://host:6379, nats://host:4222, memory://)');
    }
    return new BrokerUrl(url.trim());
  }

  /** The URL as it may be shown: `amqp://user:***@host`. */
  get shown(): string {
    return redactUrl(this.url);
  }

  /** `text` with every form of the URL's secrets and any URL userinfo replaced by `***`. */
  scrub(text: string): string {
    return redactSecrets(text, this.secrets);
  }

  /** The scheme, lower case without `:` (`amqp`, `kafka`, ...). */
  get scheme(): string {
    return (/^([a-z][a-z0-9+.-]*):/i.exec(this.url)?.[1] ?? '').toLowerCase();
  }
}

/** Password (after the first `:` of the userinfo) or token (a userinfo without `:`), and the whole userinfo. */
export function secretsOfUrl(url: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/(.*)@/is.exec(url);
  const userinfo = match?.[1];
  if (userinfo === undefined || userinfo === '') return [];
  const colon = userinfo.indexOf(':');
  return colon === -1 ? [userinfo] : [userinfo.slice(colon + 1), userinfo];
}
