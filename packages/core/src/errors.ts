/**
 * One base class with a stable `code` and a `cause`; recognise errors by code
 * (`isOmnibusError(err, 'PUBLISH_FAILED')`), not only by instanceof, because two
 * copies of core in one process have two copies of each class.
 */
export const ErrorCodes = {
  config: 'CONFIG_INVALID',
  transportNotInstalled: 'TRANSPORT_NOT_INSTALLED',
  validation: 'VALIDATION_FAILED',
  publish: 'PUBLISH_FAILED',
  connection: 'CONNECTION_FAILED',
  decode: 'DECODE_FAILED',
  timeout: 'TIMEOUT',
  closed: 'CLOSED',
  unsupported: 'UNSUPPORTED',
  messageTooLarge: 'MESSAGE_TOO_LARGE',
  deadLetter: 'DEAD_LETTER_FAILED',
  queueFull: 'QUEUE_FULL',
  idempotencyKeyDone: 'IDEMPOTENCY_KEY_DONE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class OmnibusError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Invalid configuration or options. `field` names what was wrong (e.g. `options.prefetch`). */
export class ConfigError extends OmnibusError {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown; code?: ErrorCode }) {
    super(options?.code ?? ErrorCodes.config, `${field}: ${message}`, options);
    this.field = field;
  }
}

export interface ValidationIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** A body that does not match its topic's schema. Nothing was sent. */
export class ValidationError extends OmnibusError {
  readonly topic: string;
  readonly issues: readonly ValidationIssue[];
  constructor(topic: string, issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    super(ErrorCodes.validation, `body does not match the schema of topic "${topic}": ${formatIssues(issues)}`, options);
    this.topic = topic;
    this.issues = issues;
  }
}

/** The broker did not durably accept a message (nacked, returned, refused, timed out). */
export class PublishError extends OmnibusError {
  readonly topic: string | undefined;
  constructor(message: string, options?: { cause?: unknown; topic?: string | undefined }) {
    super(ErrorCodes.publish, message, options);
    this.topic = options?.topic;
  }
}

/**
 * A message larger than the transport accepts. Nothing of its batch was sent. `index` is its
 * position in the batch (undefined for a single message); `bytes` and `limit` are in the
 * measure of `messageBytes` (body, key, header names and values).
 */
export class MessageTooLargeError extends OmnibusError {
  readonly topic: string;
  readonly index: number | undefined;
  readonly bytes: number;
  readonly limit: number;
  constructor(details: { topic: string; bytes: number; limit: number; index?: number | undefined; what?: string; hint?: string }) {
    const what = details.what ?? (details.index === undefined ? 'the message' : `message ${details.index} of the batch`);
    super(
      ErrorCodes.messageTooLarge,
      `${what} to topic "${details.topic}" is ${details.bytes} bytes (body, key and headers); the limit is ${details.limit} bytes${details.hint ?? ''}: publish a smaller body, or store the payload elsewhere and send a reference`,
    );
    this.topic = details.topic;
    this.index = details.index;
    this.bytes = details.bytes;
    this.limit = details.limit;
  }
}

/**
 * A message's dead-letter copy could not be stored. The message is kept on the broker
 * (never acked), its handler is not run again, and the dead-letter publish is retried with backoff.
 */
export class DeadLetterError extends OmnibusError {
  readonly topic: string;
  readonly messageId: string;
  constructor(message: string, options: { cause?: unknown; topic: string; messageId: string }) {
    super(ErrorCodes.deadLetter, message, options);
    this.topic = options.topic;
    this.messageId = options.messageId;
  }
}

/** The broker cannot be reached, or the connection was lost and not recovered in time. */
export class ConnectionError extends OmnibusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.connection, message, options);
  }
}

/** A received body the codec could not decode. */
export class DecodeError extends OmnibusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.decode, message, options);
  }
}

export class TimeoutError extends OmnibusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.timeout, message, options);
  }
}

/** Use of a bus, subscription or transport after close(). */
export class ClosedError extends OmnibusError {
  constructor(message: string) {
    super(ErrorCodes.closed, message);
  }
}

/** A feature the transport declares it lacks (see its capabilities). */
export class UnsupportedError extends OmnibusError {
  constructor(message: string) {
    super(ErrorCodes.unsupported, message);
  }
}

/**
 * A bounded topic is full and its overflow policy is `reject`: the broker refused the message.
 * Publishing it again later can succeed once consumers caught up. In a publishBatch, the other
 * messages of the call may have been stored; on RabbitMQ, a topic with several groups keeps it
 * for the groups that had room (the detail says so).
 */
export class QueueFullError extends OmnibusError {
  readonly topic: string;
  constructor(topic: string, detail: string, options?: { cause?: unknown }) {
    super(ErrorCodes.queueFull, `topic "${topic}" is full (${detail}): the message was refused; publish it again once consumers have caught up, or answer "try again later"`, options);
    this.topic = topic;
  }
}

export function isOmnibusError(error: unknown, code?: ErrorCode): error is OmnibusError {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { code?: unknown };
  const known = Object.values(ErrorCodes) as unknown[];
  if (!known.includes(candidate.code)) return false;
  return code === undefined || candidate.code === code;
}

export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
