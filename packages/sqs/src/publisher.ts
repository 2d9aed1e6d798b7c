import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { ConnectionError, MessageTooLargeError, PublishError, withTimeout, type Backoff, type TransportMessage } from '@omnibus/core';
import { Batcher, BatchFailure, type EntryOutcome } from './batcher.js';
import { isQueueMissing, safeError, safeMessage, type SqsSettings } from './client.js';
import { encodeMessage, type EncodedMessage } from './codec.js';
import { delayOf } from './delay.js';
import type { RequestHealth } from './health.js';

/** One message for one queue: the SendMessageBatch entry without its Id. */
export type SendEntry = Omit<SendMessageBatchRequestEntry, 'Id'>;

/** The queue was deleted between listing and sending: the group is gone, nothing to deliver to. */
const GONE: EntryOutcome = { ok: true };

/**
 * Sends messages to queues: SendMessageBatch calls of up to 10 entries per queue, coalesced over
 * one event-loop turn (so single publishes of a burst share calls), each entry retried on its own
 * until the publish deadline.
 */
export class Sender {
  readonly batcher: Batcher<SendEntry>;

  constructor(
    client: SQSClient,
    private readonly settings: SqsSettings,
    maxBytes: number,
    backoff: Backoff,
    health: RequestHealth,
    onQueueGone: (queueUrl: string) => void,
  ) {
    this.batcher = new Batcher<SendEntry>({
      maxBytes,
      backoff,
      onSuccess: () => health.succeeded(),
      onTransientFailure: (error) => health.failed(error),
      call: async (queueUrl, entries) => {
        try {
          const reply = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries.map((entry, index) => ({ ...entry, Id: String(index) })) }));
          const outcomes: EntryOutcome[] = entries.map(() => ({ ok: false, error: new Error('SQS answered nothing for this entry'), retry: true }));
          for (const ok of reply.Successful ?? []) outcomes[Number(ok.Id)] = { ok: true };
          for (const failed of reply.Failed ?? []) {
            outcomes[Number(failed.Id)] = { ok: false, error: Object.assign(new Error(`${failed.Code ?? 'failed'}: ${failed.Message ?? ''}`), { name: failed.Code ?? 'Error' }), retry: !failed.SenderFault };
          }
          return outcomes;
        } catch (error) {
          if (!isQueueMissing(error)) throw error;
          onQueueGone(queueUrl);
          return entries.map(() => GONE);
        }
      },
    });
  }

  /** Send every entry; rejects with the PublishError of the first that could not be stored by the deadline. */
  async sendAll(items: readonly { readonly queueUrl: string; readonly entry: SendEntry; readonly bytes: number; readonly topic: string }[], deadline: number): Promise<void> {
    await Promise.all(
      items.map(({ queueUrl, entry, bytes, topic }) =>
        this.batcher.add(queueUrl, entry, deadline, bytes).catch((error: unknown) => {
          throw this.publishError(error, topic);
        }),
      ),
    );
  }

  publishError(error: unknown, topic: string): PublishError {
    const last = error instanceof BatchFailure ? error.last : error;
    const transient = error instanceof BatchFailure ? error.transient : false;
    const cause = safeError(last, this.settings.secrets);
    const message = `publishing to "${topic}" on SQS (${this.settings.display}) failed: ${safeMessage(last, this.settings.secrets)}`;
    return new PublishError(message, { topic, cause: transient ? new ConnectionError(`SQS at ${this.settings.display} is unreachable or failing`, { cause }) : cause });
  }
}

/** A message encoded for SQS, and its delay (in the entry and, past 15 minutes, in the state's due time). */
export function sendEntry(encoded: EncodedMessage, delaySeconds: number): SendEntry {
  const entry: SendEntry = { MessageBody: encoded.body, MessageAttributes: encoded.attributes };
  if (delaySeconds > 0) entry.DelaySeconds = delaySeconds;
  return entry;
}

/** Encode a message to publish, refusing one whose encoding exceeds the broker's limit. */
export function encodeOutgoing(message: TransportMessage & { readonly delayMs?: number | undefined }, index: number | undefined, brokerMaxBytes: number, extra: { attempt?: number } = {}): { encoded: EncodedMessage; delaySeconds: number } {
  const { delaySeconds, dueAt } = delayOf(message.delayMs ?? 0);
  const encoded = encodeMessage(message, { ...extra, ...(dueAt === undefined ? {} : { dueAt }) });
  if (encoded.bytes > brokerMaxBytes) {
    throw new MessageTooLargeError({ topic: message.topic, bytes: encoded.bytes, limit: brokerMaxBytes, index, hint: ' as SQS counts it (encoded: a binary body as base64, headers in message attributes)' });
  }
  return { encoded, delaySeconds };
}

/** `promise`, rejecting with a PublishError (cause: ConnectionError) once `deadline` passed. */
export function byDeadline<T>(promise: Promise<T>, deadline: number, settings: SqsSettings, topic: string): Promise<T> {
  return withTimeout(promise, Math.max(1, deadline - Date.now()), () => new PublishError(`publishing to "${topic}" on SQS (${settings.display}) timed out`, { topic, cause: new ConnectionError(`SQS at ${settings.display} did not accept the message in time`) }));
}
