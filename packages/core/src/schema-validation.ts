import { ValidationError, type ValidationIssue } from './errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { Topic } from './topic.js';

/** A body checked against its topic's schema: the schema's output, or what is wrong with it. */
export type Checked<TBody> = { readonly ok: true; readonly value: TBody } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

/**
 * Validate with any Standard Schema. Synchronous when the schema is (zod, valibot and arktype
 * schemas without async checks), so the common path costs no promise per message; a promise
 * where the schema's `validate` returns one. A schema that throws is left to throw: that is a
 * bug in the schema (a transform that fails), not a bad body.
 */
export function checkBody<TBody>(schema: StandardSchemaV1<unknown, TBody>, body: unknown): Checked<TBody> | Promise<Checked<TBody>> {
  const result = schema['~standard'].validate(body);
  return isPromise(result) ? Promise.resolve(result).then(toChecked) : toChecked(result);
}

/**
 * Validate `body` against the topic's schema (for code that writes a topic's messages without the
 * bus: an outbox, a CLI): the schema's output, or a ValidationError with every issue. A topic
 * without a schema takes the body as it is.
 */
export async function validateBody<TBody>(topic: Topic<TBody, unknown>, body: unknown): Promise<TBody> {
  if (!topic.schema) return body as TBody;
  const checked = await checkBody(topic.schema, body);
  if (!checked.ok) throw new ValidationError(topic.name, checked.issues);
  return checked.value;
}

function toChecked<TBody>(result: StandardSchemaV1.Result<TBody>): Checked<TBody> {
  // The spec: a falsy `issues` is success. An empty list is still a failure, so say so.
  if (!result.issues) return { ok: true, value: result.value };
  const issues = toValidationIssues(result.issues);
  return { ok: false, issues: issues.length ? issues : [{ path: [], message: 'does not match the schema' }] };
}

/**
 * Issues as core keeps them: the path as plain keys (valibot gives `{ key, value, input }` segments,
 * which hold the body: they are not kept), and the message without the path in front of it
 * (arktype writes `total must be a number`; formatted as `total: must be a number`).
 */
export function toValidationIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): ValidationIssue[] {
  return issues.map((issue) => {
    // Array.from: a plain array even where the library's path is an Array subclass (arktype's carries a cache).
    const path = Array.from(issue.path ?? [], (segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
    return { path, message: withoutPath(String(issue.message), path) };
  });
}

function withoutPath(message: string, path: readonly PropertyKey[]): string {
  if (path.length === 0) return message;
  const dotted = path.map(String).join('.');
  const indexed = path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('');
  for (const prefix of [`${dotted} `, `${indexed} `]) {
    if (message.startsWith(prefix) && message.length > prefix.length) return message.slice(prefix.length);
  }
  return message;
}

function isPromise<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
