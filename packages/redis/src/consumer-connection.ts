import { ConnectionError, type Logger } from '@omnibus/core';
import { connectClient, createClient, type ConnectionSettings } from './connection.js';
import type { RedisOptions } from './options.js';
import { safeError } from './safe-error.js';
import { scripted, scripts, type ScriptedRedis } from './scripts.js';

export interface ConsumerConnectionSettings {
  readonly settings: ConnectionSettings;
  readonly options: RedisOptions;
  readonly logger: Logger;
  readonly consumer: string;
  /** Whether an outage is to be reported now (the subscription is reading). */
  readonly reporting: () => boolean;
  /** An outage of the connection, reported once until it is ready again. */
  readonly onLost: (error: Error) => void;
}

/**
 * Open a consumer's own blocking connection (XREADGROUP blocks it). ioredis retries with backoff
 * and the read loop resumes on 'ready'; an outage is reported once, a reconnect logged.
 */
export async function openConsumerConnection(ctx: ConsumerConnectionSettings): Promise<ScriptedRedis> {
  const { settings, options, logger, consumer } = ctx;
  const blocking = scripted(
    createClient(settings, {
      scripts,
      connectionName: 'omnibus-consumer',
      // The read blocks for blockMs; only a reply missing well beyond that is an error.
      commandTimeout: options.blockMs + options.commandTimeoutMs,
      socketTimeout: options.blockMs + options.commandTimeoutMs,
    }),
  );
  blocking.on('error', (error: unknown) => logger.debug({ err: safeError(error, settings.secrets), consumer }, 'omnibus redis: consumer connection error'));
  let lost = false;
  blocking.on('close', () => {
    if (lost || !ctx.reporting()) return;
    lost = true;
    ctx.onLost(new Error(`connection to ${settings.display} lost`));
  });
  blocking.on('ready', () => {
    if (lost) logger.info({ consumer }, 'omnibus redis: consumer reconnected');
    lost = false;
  });
  try {
    await connectClient(blocking, options.connectTimeoutMs);
  } catch (error) {
    const cause = safeError(error, settings.secrets);
    throw new ConnectionError(`cannot open the consumer connection to Redis at ${settings.display}: ${cause.message}`, { cause });
  }
  return blocking;
}
