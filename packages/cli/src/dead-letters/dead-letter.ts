import { DeadLetterHeaders, readDeadLetter, type TransportMessage } from '@omnibus/core';
import { showBody, type ShownBody } from '../body-text.js';

/** One dead letter as `dlq list` and `dlq show` print it. */
export interface DeadLetterView {
  readonly id: string;
  readonly key: string | undefined;
  /** Where it was published; `undefined` for a message not dead-lettered by Omnibus (no `omnibus-dlq-*` headers). */
  readonly originalTopic: string | undefined;
  readonly group: string | undefined;
  readonly reason: string | undefined;
  readonly attempts: number | undefined;
  readonly error: { readonly name: string; readonly message: string; readonly stack: string } | undefined;
  readonly firstFailureAt: string | undefined;
  readonly lastFailureAt: string | undefined;
  /** Every header as transported, the `omnibus-dlq-*` ones included. */
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyBytes: number;
  readonly body: ShownBody;
}

export function viewOf(message: TransportMessage): DeadLetterView {
  const info = readDeadLetter({ envelope: message.headers });
  return {
    id: message.id,
    key: message.key,
    originalTopic: info?.originalTopic,
    group: info?.group,
    reason: info?.reason,
    attempts: info?.attempts,
    error: info?.error,
    firstFailureAt: info?.firstFailureAt?.toISOString(),
    lastFailureAt: info?.lastFailureAt?.toISOString(),
    headers: message.headers,
    bodyBytes: message.body.byteLength,
    body: showBody(message.body, message.headers['content-type']),
  };
}

/** The headers a replay republishes: the original envelope and user headers, without the `omnibus-dlq-*` ones. */
export function headersForReplay(headers: Readonly<Record<string, string>>): Record<string, string> {
  const deadLetterNames = new Set<string>(Object.values(DeadLetterHeaders));
  const out: Record<string, string> = {};
  for (const name in headers) if (!deadLetterNames.has(name) && !name.startsWith('omnibus-dlq-')) out[name] = headers[name] as string;
  return out;
}
