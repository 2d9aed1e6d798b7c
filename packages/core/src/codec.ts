import { thrownMessage } from './describe-error.js';
import { DecodeError } from './errors.js';

/** Turns bodies into bytes and back. JSON is the default; pass another per topic or per bus. */
export interface Codec {
  /** Written to the `content-type` header (CloudEvents `datacontenttype`). */
  readonly contentType: string;
  encode(value: unknown): Uint8Array;
  /** Throws (any error) when the bytes cannot be decoded; core wraps it in a DecodeError. */
  decode(bytes: Uint8Array): unknown;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: Codec = {
  contentType: 'application/json',
  // Buffer.from, not TextEncoder: small results are slices of Node's shared pool instead of one
  // new ArrayBuffer each (about 0.5 µs instead of 1.8 µs for 1 KiB). A Buffer is a Uint8Array.
  encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
  decode: (bytes) => JSON.parse(decoder.decode(bytes)) as unknown,
};

/** Bytes in, bytes out: for raw topics such as dead-letter topics. */
export const bytesCodec: Codec = {
  contentType: 'application/octet-stream',
  encode: (value) => {
    if (value instanceof Uint8Array) return value;
    throw new TypeError('bytesCodec encodes Uint8Array bodies only');
  },
  decode: (bytes) => bytes,
};

export function decodeWith(codec: Codec, bytes: Uint8Array): unknown {
  try {
    return codec.decode(bytes);
  } catch (cause) {
    const reason = thrownMessage(cause);
    throw new DecodeError(`cannot decode ${bytes.byteLength}-byte body as ${codec.contentType}: ${reason}`, { cause });
  }
}
