/**
 * Credentials never reach an error or a log. One mechanism, used by createBus around every
 * transport it creates (and available to transport authors):
 *
 * - `Redactor.text` scrubs known secrets, in every form they may be printed in (see
 *   secrets.ts: raw, percent-decoded and -encoded, WHATWG-normalised, JSON-escaped), and then
 *   any `scheme://user:pass@` left in the text (`scheme://user:***@`; a userinfo without `:` is
 *   a token: `scheme://***@`).
 * - `Redactor.value` and `Redactor.error` scrub a value deeply: an error's message, stack, name
 *   and every own property, recursively along `cause`, AggregateError `errors` and nested plain
 *   objects and arrays.
 *
 * The rules, and why:
 * - Caller's objects are never changed. A clean value is returned as it is (the common case
 *   costs no allocation); a value that holds a secret is returned as a scrubbed copy. An error's
 *   copy keeps its prototype and own properties, so `instanceof`, `code` and `field` still hold.
 *   (Scrubbing in place could erase a password from the options object a client reconnects with.)
 * - Only errors, plain objects and arrays are walked: objects of other classes (sockets,
 *   clients, buffers, dates) are kept as they are, since walking into them could run getters or
 *   copy a whole client. The walk is bounded in depth and size.
 * - Secrets shorter than 3 characters are not scrubbed from free text: replacing every `a` of a
 *   message would make it unreadable without protecting anything (such a password is guessed at
 *   once anyway). They are still hidden inside any `scheme://user:pass@` of a text.
 * - In free text with no known secret, a `scheme://…@` userinfo ends at the last `@` before the
 *   next whitespace or quote, so a password with `@`, `/`, `?`, `#` or `:` is hidden whole; a
 *   password with a space can only be found as a known secret.
 */
import { isPlainObject, secretForms, urlSecrets } from './secrets.js';

/** Secrets shorter than this are not scrubbed from free text (see above). */
export const MIN_SCRUBBED_SECRET_LENGTH = 3;

const MASK = '***';
/** `scheme://userinfo@`: the userinfo runs to the last `@` before whitespace, a quote or another `scheme://`. */
// A userinfo never starts with `/`: `file:///app/node_modules/@scope/pkg` in a stack is a path, not credentials.
const CREDENTIALS_IN_URL = /([a-z][a-z0-9+.-]*:\/\/)(?!\/)((?:(?![a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`])*)@/gi;
const MAX_DEPTH = 10;
const MAX_NODES = 2_000;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function redactUserinfo(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(CREDENTIALS_IN_URL, (_match, scheme: string, userInfo: string) => {
    const colon = userInfo.indexOf(':');
    return colon === -1 ? `${scheme}${MASK}@` : `${scheme}${userInfo.slice(0, colon)}:${MASK}@`;
  });
}

/** Scrubs a fixed set of secrets (and any URL userinfo) from texts, values and errors. */
export class Redactor {
  /** A redactor that knows no secret: URL userinfo only. */
  static readonly urlsOnly = new Redactor([]);

  private readonly pattern: RegExp | undefined;

  constructor(secrets: readonly (string | undefined)[]) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string') continue;
      for (const form of secretForms(secret)) if (form.length >= MIN_SCRUBBED_SECRET_LENGTH) forms.add(form);
    }
    // Longest first, so that a secret containing another is replaced whole.
    const sorted = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.pattern = sorted.length ? new RegExp(sorted.join('|'), 'g') : undefined;
  }

  /** `text` with every known secret and URL userinfo replaced by `***`. */
  text(text: string): string {
    const scrubbed = this.pattern ? text.replace(this.pattern, MASK) : text;
    return redactUserinfo(scrubbed);
  }

  /** Whether `text` holds something `text()` would replace. */
  private dirtyText(text: string): boolean {
    if (this.pattern) {
      this.pattern.lastIndex = 0;
      if (this.pattern.test(text)) return true;
    }
    return text.includes('://') && redactUserinfo(text) !== text;
  }

  /** `value` itself when it holds no secret; otherwise a scrubbed copy (see the rules above). */
  value<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T;
    if (typeof value !== 'object' || value === null) return value;
    if (!this.isDirty(value)) return value;
    return this.copy(value, new Map(), 0) as T;
  }

  /** The scrubbed form of any thrown value (an Error stays an instance of its class). */
  error(error: unknown): unknown {
    return this.value(error);
  }

  private isDirty(root: object): boolean {
    const seen = new Set<object>();
    let nodes = 0;
    const visit = (value: unknown, depth: number): boolean => {
      if (typeof value === 'string') return this.dirtyText(value);
      if (typeof value !== 'object' || value === null || depth > MAX_DEPTH || seen.has(value)) return false;
      nodes += 1;
      if (nodes > MAX_NODES || !isWalkable(value)) return false;
      seen.add(value);
      if (value instanceof Error) {
        for (const key of ERROR_TEXTS) if (visit(read(value, key), depth + 1)) return true;
      }
      for (const key of ownKeys(value)) if (visit(read(value, key), depth + 1)) return true;
      return false;
    };
    return visit(root, 0);
  }

  private copy(value: unknown, copies: Map<object, unknown>, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value !== 'object' || value === null || !isWalkable(value)) return value;
    const done = copies.get(value);
    if (done !== undefined) return done;
    if (depth > MAX_DEPTH) return value instanceof Error ? `[${safeName(value)} nested too deep]` : '[nested too deep]';
    if (Array.isArray(value)) {
      const array: unknown[] = [];
      copies.set(value, array);
      for (const item of value) array.push(this.copy(item, copies, depth + 1));
      return array;
    }
    const target = Object.create(prototypeOf(value)) as Record<PropertyKey, unknown>;
    copies.set(value, target);
    for (const key of ownKeys(value)) {
      const descriptor = describe(value, key);
      Object.defineProperty(target, key, {
        value: this.copy(read(value, key), copies, depth + 1),
        enumerable: descriptor?.enumerable ?? true,
        writable: true,
        configurable: true,
      });
    }
    if (value instanceof Error) {
      // Inherited accessors (DOMException's name, message, code) would fail on a copy: make them own.
      for (const key of ERROR_TEXTS) {
        if (Object.prototype.hasOwnProperty.call(target, key)) continue;
        const text = read(value, key);
        if (text !== undefined) Object.defineProperty(target, key, { value: this.copy(text, copies, depth + 1), enumerable: false, writable: true, configurable: true });
      }
    }
    return target;
  }
}

const ERROR_TEXTS = ['message', 'stack', 'name', 'code'] as const;

function isWalkable(value: object): boolean {
  return value instanceof Error || Array.isArray(value) || isPlainObject(value);
}

function ownKeys(value: object): PropertyKey[] {
  try {
    return Reflect.ownKeys(value);
  } catch {
    return [];
  }
}

function describe(value: object, key: PropertyKey): PropertyDescriptor | undefined {
  try {
    return Object.getOwnPropertyDescriptor(value, key);
  } catch {
    return undefined;
  }
}

function read(value: object, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

function prototypeOf(value: object): object | null {
  try {
    return Object.getPrototypeOf(value) as object | null;
  } catch {
    return Object.prototype;
  }
}

function safeName(error: Error): string {
  const name = read(error, 'name');
  return typeof name === 'string' ? name : 'Error';
}

/** `amqp://guest:secret@host/vh` → `amqp://guest:***@host/vh`, also when the password holds `@`, `/`, `?` or `#`; tolerates any input. */
export function redactUrl(url: string): string {
  // The scheme is never a secret, even when a token-only userinfo equals it (`postgres://postgres@…`).
  const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  const redacted = new Redactor(urlSecrets(url)).text(url);
  if (!scheme || redacted.startsWith(scheme)) return redacted;
  const end = redacted.indexOf('://');
  return end === -1 ? redacted : scheme + redacted.slice(end + 3);
}

/** Redact every `scheme://user:pass@` (and `scheme://token@`) inside a text. */
export function redactText(text: string): string {
  return redactUserinfo(text);
}

/**
 * Redact known secrets (passwords, tokens), in every form they may be printed in, and any URL
 * userinfo from a text. For many texts, build one `Redactor` instead.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  return new Redactor(secrets).text(text);
}
