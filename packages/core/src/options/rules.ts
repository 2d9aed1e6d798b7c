import type { StandardSchemaV1 } from '../standard-schema.js';

/**
 * Core's own option checker: the few rules its options need (numbers in a range, flags, one of
 * some strings, strict objects with defaults), so core needs no validation library. Messages are
 * worded as zod 4 words them, which core used before: a ConfigError reads the same as it did.
 *
 * A rule is a Standard Schema too, so `parseOptions` takes it as it takes a transport's zod schema.
 */
export interface Rule<Out, In = unknown> extends StandardSchemaV1<In, Out> {
  /** Check `value` (found at `path`): report what is wrong into `issues`, return what to keep. */
  check(value: unknown, path: readonly PropertyKey[], issues: OptionIssue[]): Out;
}

export interface OptionIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export type OutputOf<R> = R extends Rule<infer Out, infer _In> ? Out : never;

type Shape = Readonly<Record<string, Rule<unknown>>>;
type Simplify<T> = { [K in keyof T]: T[K] } & {};
/** A key whose rule may give `undefined` is optional in the output. */
type ObjectOf<S extends Shape> = Simplify<
  { [K in keyof S as undefined extends OutputOf<S[K]> ? never : K]: OutputOf<S[K]> } & { [K in keyof S as undefined extends OutputOf<S[K]> ? K : never]?: OutputOf<S[K]> }
>;

export function rule<Out>(check: Rule<Out>['check']): Rule<Out> {
  return {
    check,
    '~standard': {
      version: 1,
      vendor: 'omnibus',
      validate(value) {
        const issues: OptionIssue[] = [];
        const out = check(value, [], issues);
        return issues.length ? { issues } : { value: out };
      },
    },
  };
}

/** The input type a rule documents (checked by hand-written interfaces, not inferred). */
export function withInput<In, Out>(checker: Rule<Out>): Rule<Out, In> {
  return checker as unknown as Rule<Out, In>;
}

/** How zod names what it got: `string`, `NaN`, `null`, `array`, a class name (`Date`), ... */
export function received(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'number' : String(value);
  if (typeof value !== 'object') return typeof value;
  const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null;
  const name = prototype && prototype !== Object.prototype ? prototype.constructor?.name : undefined;
  return typeof name === 'string' && name ? name : 'object';
}

const expected = (what: string, value: unknown) => `Invalid input: expected ${what}, received ${received(value)}`;

export interface NumberBounds {
  /** An integer (and a safe one). */
  readonly int?: boolean;
  readonly min?: number;
  readonly max?: number;
}

export function number(bounds: NumberBounds = {}): Rule<number> {
  return rule((value, path, issues) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      issues.push({ path, message: expected('number', value) });
      return value as number;
    }
    if (bounds.int && !Number.isInteger(value)) issues.push({ path, message: expected('int', value) });
    else if (bounds.int && value > Number.MAX_SAFE_INTEGER) issues.push({ path, message: `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}` });
    else if (bounds.int && value < Number.MIN_SAFE_INTEGER) issues.push({ path, message: `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}` });
    if (bounds.min !== undefined && value < bounds.min) issues.push({ path, message: `Too small: expected number to be >=${bounds.min}` });
    if (bounds.max !== undefined && value > bounds.max) issues.push({ path, message: `Too big: expected number to be <=${bounds.max}` });
    return value;
  });
}

/** A number written as text (a URL parameter): `Number(text)`, then checked as a number. */
export function numberFromText(bounds: NumberBounds = {}): Rule<number> {
  const inner = number(bounds);
  return rule((value, path, issues) => inner.check(Number(value), path, issues));
}

export const boolean: Rule<boolean> = rule((value, path, issues) => {
  if (typeof value !== 'boolean') issues.push({ path, message: expected('boolean', value) });
  return value as boolean;
});

export const string: Rule<string> = rule((value, path, issues) => {
  if (typeof value !== 'string') issues.push({ path, message: expected('string', value) });
  return value as string;
});

/** Anything (a value another rule checks later). */
export const unknown: Rule<unknown> = rule((value) => value);

export function oneOf<const T extends readonly [string, ...string[]]>(values: T): Rule<T[number]> {
  return rule((value, path, issues) => {
    if (!values.includes(value as string)) issues.push({ path, message: `Invalid option: expected one of ${values.map((v) => JSON.stringify(v)).join('|')}` });
    return value as T[number];
  });
}

/** A value `test` accepts (a function, a store, ...); `message` says what was expected. */
export function custom<T>(test: (value: unknown) => boolean, message = 'Invalid input'): Rule<T> {
  return rule((value, path, issues) => {
    if (!test(value)) issues.push({ path, message });
    return value as T;
  });
}

export function instanceOf<T>(type: abstract new (...args: never[]) => T): Rule<T> {
  return rule((value, path, issues) => {
    if (!(value instanceof type)) issues.push({ path, message: expected(type.name, value) });
    return value as T;
  });
}

export function arrayOf<T>(item: Rule<T>): Rule<T[]> {
  return rule((value, path, issues) => {
    if (!Array.isArray(value)) {
      issues.push({ path, message: expected('array', value) });
      return [];
    }
    return value.map((element, index) => item.check(element, [...path, index], issues));
  });
}

export function optional<T>(inner: Rule<T>): Rule<T | undefined> {
  return rule((value, path, issues) => (value === undefined ? undefined : inner.check(value, path, issues)));
}

/** `undefined` becomes `fallback`, checked like a given value (so a default of `{}` gets its fields' defaults). */
export function withDefault<T>(inner: Rule<T>, fallback: unknown): Rule<T> {
  return rule((value, path, issues) => inner.check(value === undefined ? structuredFallback(fallback) : value, path, issues));
}

/** A default array is copied, so no two results share one (an object default is rebuilt by its rule, or kept as it is: a codec, a logger). */
function structuredFallback(fallback: unknown): unknown {
  return Array.isArray(fallback) ? [...(fallback as unknown[])] : fallback;
}

/**
 * An object with exactly these keys: an unknown key is an issue at that key (what the user
 * mistyped), reported after the known keys' issues. A key left out is not added unless its rule
 * gives a value (a default).
 */
export function strictObject<S extends Shape>(shape: S): Rule<ObjectOf<S>> & { readonly shape: S } {
  const known = Object.keys(shape);
  const checker = rule((value, path, issues) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path, message: expected('object', value) });
      return value as ObjectOf<S>;
    }
    const input = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of known) {
      const kept = (shape[key] as Rule<unknown>).check(input[key], [...path, key], issues);
      if (kept !== undefined || key in input) out[key] = kept;
    }
    const unknownKeys = Object.keys(input).filter((key) => !Object.hasOwn(shape, key));
    if (unknownKeys.length) {
      const list = unknownKeys.map((key) => JSON.stringify(key)).join(', ');
      issues.push({ path: [...path, unknownKeys[0] as string], message: `Unrecognized key${unknownKeys.length > 1 ? 's' : ''}: ${list}` });
    }
    return out as ObjectOf<S>;
  });
  return Object.assign(checker, { shape });
}

/** `inner`, then `test` on its result when it had no issue of its own besides unknown keys. */
export function refine<T>(inner: Rule<T>, test: (value: T) => boolean, message: string): Rule<T> {
  return rule((value, path, issues) => {
    const before = issues.length;
    const out = inner.check(value, path, issues);
    const own = issues.slice(before).filter((issue) => !issue.message.startsWith('Unrecognized key'));
    if (own.length === 0 && !test(out)) issues.push({ path, message });
    return out;
  });
}

/** One of several object rules, picked by the string at `key` (`{ type: 'fixed', ... }`). */
export function discriminated<const K extends string, const V extends Readonly<Record<string, Rule<unknown>>>>(key: K, variants: V): Rule<OutputOf<V[keyof V]>> {
  const names = Object.keys(variants);
  return rule((value, path, issues) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ path, message: expected('object', value) });
      return value as OutputOf<V[keyof V]>;
    }
    const tag = (value as Record<string, unknown>)[key];
    const variant = typeof tag === 'string' && Object.hasOwn(variants, tag) ? variants[tag] : undefined;
    if (!variant) {
      issues.push({ path: [...path, key], message: `Invalid discriminator value. Expected ${names.map((n) => `'${n}'`).join(' | ')}` });
      return value as OutputOf<V[keyof V]>;
    }
    return variant.check(value, path, issues) as OutputOf<V[keyof V]>;
  });
}

/** Each variant's `key` field: exactly `name`. */
export function literal<const T extends string>(name: T): Rule<T> {
  return rule((value, path, issues) => {
    if (value !== name) issues.push({ path, message: `Invalid input: expected ${JSON.stringify(name)}` });
    return value as T;
  });
}

/** A string of at least `min` characters. */
export function text(bounds: { readonly min?: number } = {}): Rule<string> {
  return rule((value, path, issues) => {
    if (typeof value !== 'string') issues.push({ path, message: expected('string', value) });
    else if (bounds.min !== undefined && value.length < bounds.min) issues.push({ path, message: `Too small: expected string to have >=${bounds.min} characters` });
    return value as string;
  });
}

/** A plain object of any values (`Record<string, unknown>`): not an array, a Map or a class instance. */
export const record: Rule<Record<string, unknown>> = rule((value, path, issues) => {
  const prototype = typeof value === 'object' && value !== null ? (Object.getPrototypeOf(value) as unknown) : undefined;
  if (prototype !== Object.prototype && prototype !== null) issues.push({ path, message: expected('record', value) });
  return value as Record<string, unknown>;
});

/** The first of `rules` that accepts the value; none: one issue (zod words it `Invalid input`). */
export function anyOf<const R extends readonly Rule<unknown>[]>(rules: R, message = 'Invalid input'): Rule<OutputOf<R[number]>> {
  return rule((value, path, issues) => {
    for (const candidate of rules) {
      const own: OptionIssue[] = [];
      const out = candidate.check(value, path, own);
      if (own.length === 0) return out as OutputOf<R[number]>;
    }
    issues.push({ path, message });
    return value as OutputOf<R[number]>;
  });
}
