import { redactSecrets, type Logger } from '@omnibus/core';
import { logLevel, type logCreator } from 'kafkajs';

/**
 * kafkajs logs through our Logger, at debug (its warnings are about recoverable
 * client states; the transport reports what matters itself), with secrets redacted.
 * Only kafkajs warnings and errors are forwarded: its info level logs every
 * pause/resume and join.
 */
export const KAFKAJS_LOG_LEVEL = logLevel.WARN;

export function kafkajsLogCreator(logger: Logger, secrets: readonly string[]): logCreator {
  return () =>
    ({ namespace, label, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log as { message: string; timestamp?: unknown; logger?: unknown } & Record<string, unknown>;
      let details: string;
      try {
        details = redactSecrets(JSON.stringify(extra), secrets);
      } catch {
        details = '(unserialisable)';
      }
      logger.debug({ kafkajs: { namespace, level: label, details } }, `kafkajs: ${redactSecrets(String(message), secrets)}`);
    };
}
