import type { Logger, LogFn } from '@omnibus/core';
import type { BrokerUrl } from './broker-url.js';

export type LogLevel = 'debug' | 'warn' | 'silent';

const ORDER = { debug: 0, info: 1, warn: 2, error: 3 } as const;
const THRESHOLD: Record<LogLevel, number> = { debug: 0, warn: 2, silent: 4 };

/**
 * The transport's and the bus's log lines, one per line on stderr (warnings and errors by
 * default, everything with --verbose), scrubbed of the URL's secrets once more.
 */
export function stderrLogger(stream: NodeJS.WritableStream, level: LogLevel, url: BrokerUrl): Logger {
  const at = (name: keyof typeof ORDER): LogFn => {
    if (ORDER[name] < THRESHOLD[level]) return () => {};
    return ((fields: Record<string, unknown> | string, message?: string) => {
      const text = typeof fields === 'string' ? fields : `${message ?? ''} ${safeJson(fields)}`;
      stream.write(`${name}: ${url.scrub(text.trim())}\n`);
    });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : value));
  } catch {
    return '';
  }
}
