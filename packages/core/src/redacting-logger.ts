import { silentLogger, type LogFn, type Logger } from './logger.js';
import type { Redactor } from './redact.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * A logger that scrubs every argument of every call before `logger` sees it: the message, and
 * the fields deeply (an `err` field's message, stack and causes included). The fields object a
 * caller passed is never changed; when it holds a secret, the logger receives a scrubbed copy.
 * Each call is forwarded as a method call with as many arguments as it was given, so pino's
 * `this` and its format arguments keep working.
 */
export function redactingLogger(logger: Logger, redactor: Redactor): Logger {
  if (logger === silentLogger) return logger;
  const wrap = (level: Level): LogFn =>
    ((...args: unknown[]) => {
      const scrubbed = args.map((arg) => redactor.value(arg));
      (logger[level] as (...values: unknown[]) => void)(...scrubbed);
    });
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
