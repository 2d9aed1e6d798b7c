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
  const field = (issue: (typeof issues)[number]) => (issue.path.length ? issue.path.map(String).join('.') : '(root)');
  const first = issues[0];
  const details = issues.map((issue) => `${field(issue)}: ${redactText(issue.message)}`).join('; ');
  throw new ConfigError(first ? `${what}.${field(first)}` : what, `invalid ${what}: ${details}`, { cause: result.error });
}
