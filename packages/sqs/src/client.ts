import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { redactSecrets } from '@omnibus/core';
import type { SqsOptions } from './options.js';
import type { SqsUrl } from './url.js';

/** What the transport knows of its broker: the client, where it points, what to scrub from texts. */
export interface SqsSettings {
  readonly display: string;
  /** A custom endpoint (ElasticMQ, LocalStack) rather than Amazon SQS. */
  readonly customEndpoint: boolean;
  /** Secret access keys and session tokens in every form a text could carry them. */
  readonly secrets: readonly string[];
  /** How long a new queue may be missing from ListQueues (see options.listingLagMs). */
  readonly listingLagMs: number;
}

/** Region used for a custom endpoint that names none (the SDK needs one to sign requests). */
const DEFAULT_ENDPOINT_REGION = 'us-east-1';

export function sqsSettings(url: SqsUrl, options: SqsOptions): SqsSettings {
  const secrets = [...url.secrets];
  const { credentials } = options;
  for (const secret of [credentials?.secretAccessKey, credentials?.sessionToken]) if (secret) secrets.push(secret);
  const customEndpoint = url.endpoint !== undefined;
  return { display: url.display, customEndpoint, secrets, listingLagMs: options.listingLagMs ?? (customEndpoint ? 0 : 1_000) };
}

/**
 * The SDK client. Its own retries are off (`maxAttempts: 1`): the transport retries what is safe to
 * retry, within its own deadlines (publish timeout, lease), with core's backoff. A custom endpoint
 * is used for every request, whatever host the broker writes into queue URLs (a proxy or a
 * container's port mapping would otherwise be bypassed).
 */
export function createSqsClient(url: SqsUrl, options: SqsOptions): SQSClient {
  // A copy: the SDK writes its own bookkeeping ($source) into the credentials object it is given.
  const given = options.credentials;
  const credentials = given
    ? { accessKeyId: given.accessKeyId, secretAccessKey: given.secretAccessKey, ...(given.sessionToken ? { sessionToken: given.sessionToken } : {}) }
    : url.accessKeyId && url.secretAccessKey
      ? { accessKeyId: url.accessKeyId, secretAccessKey: url.secretAccessKey }
      : undefined;
  const region = options.region ?? url.region ?? (url.endpoint ? DEFAULT_ENDPOINT_REGION : undefined);
  const config: SQSClientConfig = {
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs,
      connectionTimeout: options.connectTimeoutMs,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
    // The SDK checks MD5 digests of bodies and attributes; kept (the default).
  };
  if (region !== undefined) config.region = region;
  if (credentials !== undefined) config.credentials = credentials;
  if (url.endpoint !== undefined) {
    config.endpoint = url.endpoint;
    config.useQueueUrlAsEndpoint = false;
  }
  return new SQSClient(config);
}

/** Error names of SQS meaning the queue is gone (deleted, or never created). */
export function isQueueMissing(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue' || name === 'NonExistentQueue';
}

/** A receipt handle SQS no longer honours (the message came back and was received again, or was deleted). */
export function isReceiptGone(error: unknown): boolean {
  const name = (error as { name?: unknown })?.name;
  return name === 'ReceiptHandleIsInvalid' || name === 'InvalidParameterValue' || name === 'MessageNotInflight' || name === 'AWS.SimpleQueueService.MessageNotInflight';
}

/**
 * Whether a failed request is the network's or the broker's momentary trouble (worth retrying) rather
 * than a refusal (bad credentials, a bad request): no HTTP status, 5xx, throttling.
 */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: unknown };
  if (e?.name === 'AbortError') return false;
  if (e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500 || status === 429 || /Throttl|RequestThrottled|OverLimit|ServiceUnavailable|TimeoutError/.test(String(e?.name));
}

/** Properties of Node's system errors worth keeping on a copy (never a request or its headers). */
const KEPT = ['code', 'errno', 'syscall', 'address', 'port'] as const;

/**
 * A copy of a thrown value safe to log or to hand to a caller: name, redacted message and stack,
 * the system-error fields of KEPT, the HTTP status, and its cause chain copied the same way.
 * (SDK errors carry `$response` with the signed request's headers: never copied.)
 */
export function safeError(error: unknown, secrets: readonly string[], depth = 0): Error {
  const text = error instanceof Error ? error.message || error.name : String(error);
  const safe = new Error(redactSecrets(text, secrets));
  if (!(error instanceof Error)) return safe;
  safe.name = error.name;
  if (error.stack !== undefined) {
    const frames = error.stack.slice(error.stack.indexOf('\n') + 1 || error.stack.length);
    safe.stack = redactSecrets(`${safe.name}: ${safe.message}${frames ? `\n${frames}` : ''}`, secrets);
  }
  const fields = error as unknown as Record<string, unknown>;
  for (const name of KEPT) {
    const value = fields[name];
    if (typeof value === 'string' || typeof value === 'number') Object.assign(safe, { [name]: typeof value === 'string' ? redactSecrets(value, secrets) : value });
  }
  const status = (fields.$metadata as { httpStatusCode?: unknown } | undefined)?.httpStatusCode;
  if (typeof status === 'number') Object.assign(safe, { httpStatusCode: status });
  if (error.cause !== undefined && depth < 5) safe.cause = safeError(error.cause, secrets, depth + 1);
  return safe;
}

export function safeMessage(error: unknown, secrets: readonly string[]): string {
  return safeError(error, secrets).message;
}
