import { TransportHeaders, WireHeaders } from './wire-names.js';

/**
 * Header names and values encoded once instead of per record. The Buffers are shared by every
 * record that carries them: neither client writes to a header buffer (both copy or append it
 * as it is), and nothing here hands one out to be written to.
 *
 * Both caches stop growing at a bound; past it a name or value is encoded per record as before
 * (a process with more distinct topics or header names than that only loses the saving).
 */
const MAX_NAMES = 512;
const MAX_VALUES = 1_024;

const names = new Map<string, Buffer>();
for (const name of [...Object.values(WireHeaders), ...Object.values(TransportHeaders), 'traceparent', 'tracestate']) names.set(name, Buffer.from(name, 'utf8'));

const values = new Map<string, Buffer>();

/** The UTF-8 bytes of a header name: the envelope's and the transport's are encoded at load, others on first use. */
export function encodedHeaderName(name: string): Buffer {
  let bytes = names.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(name, 'utf8');
    if (names.size < MAX_NAMES) names.set(name, bytes);
  }
  return bytes;
}

/**
 * The UTF-8 bytes of a header value that never changes for a topic: the CloudEvents source (the
 * bus'), type (the topic's name), specversion and data content type (the codec's). Never for
 * values that change per message (id, time, user headers): the cache would only fill up.
 */
export function encodedConstant(value: string): Buffer {
  let bytes = values.get(value);
  if (bytes === undefined) {
    bytes = Buffer.from(value, 'utf8');
    if (values.size < MAX_VALUES) values.set(value, bytes);
  }
  return bytes;
}

/** A header value for the wire: the pre-encoded Buffer as it is, a string as UTF-8. */
export function encodedHeaderValue(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}
