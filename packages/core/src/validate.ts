import { ConfigError } from './errors.js';
import { redactText } from './redact.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/**
 * Parse options with a schema: a rule of core's option checker (`options/rules.ts`) or any
 * Standard Schema, such as a transport's zod schema. On failure throw a ConfigError naming the
 * first bad field (`options.prefetch`), with every issue in the message. Values are never echoed,
 * so a password cannot leak through an error. Options are checked synchronously: a schema that
 * validates asynchronously is refused.
 */
export function parseOptions<TSchema extends StandardSchemaV1>(schema: TSchema, input: unknown, what: string): StandardSchemaV1.InferOutput<TSchema> {
  const result = schema['~standard'].validate(input);
  if (typeof (result as { then?: unknown }).then === 'function') {
    throw new ConfigError(what, `the schema of ${what} validates asynchronously: options are checked synchronously`);
  }
  const { issues } = result as StandardSchemaV1.Result<StandardSchemaV1.InferOutput<TSchema>>;
  if (!issues) return (result as StandardSchemaV1.SuccessResult<StandardSchemaV1.InferOutput<TSchema>>).value;
  const first = issues[0];
  const details = issues.map((issue) => `${field(issue)}: ${redactText(issue.message)}`).join('; ');
  throw new ConfigError(first ? `${what}.${field(first)}` : what, `invalid ${what}: ${details}`, { cause: issues });
}

/**
 * The dotted path of an issue. zod reports an unknown key at its object's path, with the key
 * aside: name the key itself (`options.prefetchh`), which is what the user mistyped. (Core's own
 * rules put the key in the path already.)
 */
function field(issue: StandardSchemaV1.Issue): string {
  const keys = (issue.path ?? []).map((segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
  const unknown = issue as { code?: unknown; keys?: unknown };
  if (unknown.code === 'unrecognized_keys' && Array.isArray(unknown.keys) && unknown.keys.length) keys.push(unknown.keys[0] as PropertyKey);
  return keys.length ? keys.map(String).join('.') : '(root)';
}
