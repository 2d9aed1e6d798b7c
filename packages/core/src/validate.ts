import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { redactText } from './redact.js';

/**
 * Parse options with a zod schema; on failure throw a ConfigError naming the first
 * bad field (`options.prefetch`), with every issue in the message. Values are never
 * echoed, so a password cannot leak through an error.
 */
export function parseOptions<TSchema extends z.ZodType>(schema: TSchema, input: unknown, what: string): z.output<TSchema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  // An unknown key is reported by zod at its object's path, with the key aside: name the key itself
  // (`options.prefetchh`), which is what the user mistyped.
  const field = (issue: (typeof issues)[number]): string => {
    const path = issue.code === 'unrecognized_keys' && issue.keys.length ? [...issue.path, issue.keys[0]] : issue.path;
    return path.length ? path.map(String).join('.') : '(root)';
  };
  const first = issues[0];
  const details = issues.map((issue) => `${field(issue)}: ${redactText(issue.message)}`).join('; ');
  throw new ConfigError(first ? `${what}.${field(first)}` : what, `invalid ${what}: ${details}`, { cause: result.error });
}
