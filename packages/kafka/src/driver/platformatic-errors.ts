import { TimeoutError } from '@platformatic/kafka';

/** A Kafka protocol error found in a @platformatic/kafka error tree. */
interface ProtocolFailure {
  readonly id: string;
  readonly retriable: boolean;
  readonly detail: string;
}

const MAX_DEPTH = 6;

/**
 * @platformatic/kafka reports a failed request as a tree: MultipleErrors (one per retry) of
 * ResponseErrors (one per failed request) of ProtocolErrors (one per topic or partition,
 * `apiId` = the Kafka error name). Depth first, so the last one found is the last attempt's.
 */
function protocolFailures(error: unknown, found: ProtocolFailure[] = [], depth = 0): ProtocolFailure[] {
  if (!(error instanceof Error) || depth > MAX_DEPTH) return found;
  const node = error as Error & { apiId?: unknown; canRetry?: unknown; serverErrorMessage?: unknown; errors?: unknown };
  if (typeof node.apiId === 'string') {
    const server = typeof node.serverErrorMessage === 'string' && node.serverErrorMessage !== '' ? node.serverErrorMessage : undefined;
    found.push({ id: node.apiId, retriable: node.canRetry === true, detail: server ?? node.message });
  }
  if (Array.isArray(node.errors)) for (const inner of node.errors) protocolFailures(inner, found, depth + 1);
  if (node.cause !== undefined) protocolFailures(node.cause, found, depth + 1);
  return found;
}

/** The innermost message of the last branch ("Connection to 127.0.0.1:1 failed."), which says the most. */
function leafMessage(error: Error): string {
  let current: Error = error;
  for (let depth = 0; depth < MAX_DEPTH; depth += 1) {
    const inner = (current as Error & { errors?: unknown }).errors;
    const next = Array.isArray(inner) && inner.length > 0 ? (inner as unknown[])[inner.length - 1] : current.cause;
    if (!(next instanceof Error)) break;
    current = next;
  }
  return current.message;
}

/** Whether a request of the error tree went unanswered (request timeout): the connection is not working. */
export function timedOut(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > MAX_DEPTH) return false;
  if (error instanceof TimeoutError) return true;
  const inner = (error as Error & { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.some((e) => timedOut(e, depth + 1))) return true;
  return timedOut(error.cause, depth + 1);
}

/** The Kafka error name of a @platformatic/kafka error (the last attempt's), if the broker answered with one. */
export function protocolErrorName(error: unknown): string | undefined {
  return protocolFailures(error).at(-1)?.id;
}

/**
 * A @platformatic/kafka error in the shape the transport reads (errors.ts): a message that
 * names the Kafka error, `type` = its name (`MESSAGE_TOO_LARGE`, `REBALANCE_IN_PROGRESS`…),
 * `retriable` as the client says; the original as `cause`. The transport redacts it (and
 * the cause chain) before it reaches a log or a caller, as it does for kafkajs errors.
 */
export function driverError(what: string, error: unknown): Error {
  if (!(error instanceof Error)) return new Error(`${what} failed: ${String(error)}`);
  const last = protocolFailures(error).at(-1);
  const why = last ? `${last.id} (${last.detail})` : leafMessage(error);
  const translated = new Error(`${what} failed: ${why}`, { cause: error }) as Error & { type?: string; retriable?: boolean };
  translated.name = 'KafkaClientError';
  if (last) translated.type = last.id;
  // No broker answer: connection errors and timeouts are worth another try, as kafkajs says of them.
  translated.retriable = last ? last.retriable : true;
  return translated;
}

/** Run a client call, translating its failure (see driverError). */
export async function translating<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw driverError(what, error);
  }
}
