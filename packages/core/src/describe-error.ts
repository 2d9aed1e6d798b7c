/**
 * A description of any thrown value that never throws itself. Handlers can throw
 * anything: `Object.create(null)`, an object whose `toString` throws, an Error whose
 * `message` is a number or whose `name` is a megabyte long. None of that may keep a
 * delivery from being settled, so every read here is guarded and every part is cut
 * to a byte budget.
 */
export interface ErrorDescription {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
}

/** Byte budgets of each part (UTF-8), so that a dead-letter copy's headers stay bounded. */
export const ErrorDescriptionBudget = { name: 128, message: 1_024, stack: 2_048 } as const;

export function describeThrown(value: unknown): ErrorDescription {
  if (isError(value)) {
    return {
      name: cutBytes(safeString(read(value, 'name')) || 'Error', ErrorDescriptionBudget.name),
      message: cutBytes(safeString(read(value, 'message')), ErrorDescriptionBudget.message),
      stack: cutBytes(safeString(read(value, 'stack')), ErrorDescriptionBudget.stack),
    };
  }
  return { name: 'NonError', message: cutBytes(safeString(value), ErrorDescriptionBudget.message), stack: '' };
}

/** The message of any thrown value, for log lines and error messages. Never throws. */
export function thrownMessage(value: unknown): string {
  return isError(value) ? safeString(read(value, 'message')) : safeString(value);
}

/** `instanceof Error`, which a Proxy's getPrototypeOf trap can make throw. */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}

/** `String(value)` that never throws (no prototype, a throwing toString or Symbol.toPrimitive). */
export function safeString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    // The point: whatever String() makes of it, without throwing.
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[unprintable value]';
    }
  }
}

/** A property read that never throws (a getter may). */
function read(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();

/** Cut `text` to at most `maxBytes` UTF-8 bytes, never inside a character, marking the cut with "…". */
export function cutBytes(text: string, maxBytes: number): string {
  // Most texts are short ASCII: a character is at most 3 bytes per UTF-16 unit, so this is exact enough.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  const ellipsis = '…'; // 3 bytes
  let end = maxBytes - 3;
  // Back up to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return new TextDecoder().decode(bytes.subarray(0, end)) + ellipsis;
}

/**
 * An Error for a log line's `err` field, whatever was thrown: an Error is passed as it is, any
 * other value becomes an Error carrying its (safe, cut) description, so loggers such as pino
 * always serialise `err` the same way.
 */
export function asLoggableError(value: unknown): Error {
  if (isError(value)) return value;
  const description = describeThrown(value);
  const error = new Error(description.message);
  error.name = description.name;
  return error;
}
