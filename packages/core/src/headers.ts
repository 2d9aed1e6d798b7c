/**
 * Header names written by core. CloudEvents attributes travel in binary mode
 * (`ce-` prefix, `content-type` for datacontenttype); W3C `traceparent` and
 * `tracestate` are user headers and pass through untouched.
 */
export const EnvelopeHeaders = {
  id: 'ce-id',
  source: 'ce-source',
  type: 'ce-type',
  time: 'ce-time',
  specVersion: 'ce-specversion',
  contentType: 'content-type',
  /**
   * ISO time of the first failed attempt, kept across retries: bookkeeping while a message is
   * retried. It is removed when the message is dead-lettered, where the same time is reported as
   * `DeadLetterHeaders.firstFailureAt` beside the other dead-letter facts (one value, two roles:
   * a retried message never carries a dead-letter header, a dead letter never carries this one).
   */
  firstFailureAt: 'omnibus-first-failure-at',
} as const;

/**
 * The envelope in the CloudEvents AMQP protocol binding (binary content mode), for the transports
 * that speak AMQP (0-9-1: the headers table; 1.0: application properties): every attribute but the
 * data content type is a property named `cloudEvents_<attribute>`; the data content type is the
 * message's `content-type` property. One table, so that every AMQP transport writes the same names.
 */
export const CloudEventsAmqpProperties = {
  id: 'cloudEvents_id',
  source: 'cloudEvents_source',
  type: 'cloudEvents_type',
  time: 'cloudEvents_time',
  specVersion: 'cloudEvents_specversion',
} as const;

/**
 * The binding's other separator: receivers must accept `cloudEvents:` too (the binding prefers `_`,
 * which JMS selectors can name). Read, never written.
 */
export const CloudEventsAmqpColonProperties = {
  id: 'cloudEvents:id',
  source: 'cloudEvents:source',
  type: 'cloudEvents:type',
  time: 'cloudEvents:time',
  specVersion: 'cloudEvents:specversion',
} as const;

/** Headers added to a message when it is dead-lettered. */
export const DeadLetterHeaders = {
  topic: 'omnibus-dlq-original-topic',
  group: 'omnibus-dlq-group',
  attempts: 'omnibus-dlq-attempts',
  /** 'max-attempts' | 'non-retryable' | 'explicit' | 'undecodable' | 'invalid' */
  reason: 'omnibus-dlq-reason',
  errorName: 'omnibus-dlq-error-name',
  errorMessage: 'omnibus-dlq-error-message',
  errorStack: 'omnibus-dlq-error-stack',
  firstFailureAt: 'omnibus-dlq-first-failure-at',
  lastFailureAt: 'omnibus-dlq-last-failure-at',
} as const;

/**
 * @deprecated Use `EnvelopeHeaders`: this name shadows the global Fetch `Headers` in every file
 * that imports it. Kept as an alias until 1.0.
 */
export const Headers = EnvelopeHeaders;

export type DeadLetterReason = 'max-attempts' | 'non-retryable' | 'explicit' | 'undecodable' | 'invalid';

const RESERVED_PREFIXES = ['ce-', 'omnibus-'];

/** User headers may not overwrite envelope headers. */
export function isReservedHeader(name: string): boolean {
  // Runs for every header of every message: names that cannot be reserved (not starting with
  // c/C or o/O) are answered without allocating a lowercase copy.
  const first = name.charCodeAt(0) | 0x20;
  if (first !== 0x63 && first !== 0x6f) return false;
  const lower = name.toLowerCase();
  return lower === EnvelopeHeaders.contentType || lower.startsWith(RESERVED_PREFIXES[0] as string) || lower.startsWith(RESERVED_PREFIXES[1] as string);
}

/** Headers without the envelope ones: what `msg.headers` shows a handler. */
export function userHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) if (!isReservedHeader(name)) out[name] = headers[name] as string;
  return out;
}
