// Raw Amazon SQS with @aws-sdk/client-sqs, written as a careful user would: one standard queue (the
// group; a raw user with one consumer group needs no topic), SendMessageBatch of 10 entries (the
// calls of one publish in parallel, failed entries sent again), ReceiveMessage long polls (20 s,
// up to 10 messages, never more than the room left under `concurrency`) from 4 pollers, and every
// handled message deleted with DeleteMessageBatch (the deletes of one event-loop turn share calls of
// up to 10). Keep-alive sockets, 64 per client, as the Omnibus transport has.
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { decodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

const BATCH = 10;
const POLLERS = 4;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i;

/** SQS queue names: letters, digits, `-` and `_`, at most 80. */
export const sqsQueueName = (target: Target) => `${target.topic}-${target.group}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);

/**
 * `sqs://[KEY:SECRET@][host:port][?region=r&tls=true|false]` → an SDK client: a custom endpoint
 * (plain HTTP on a loopback host) or Amazon SQS itself; credentials from the URL, else the SDK's chain.
 */
export function sqsClient(url: string): SQSClient {
  const u = new URL(url);
  const region = u.searchParams.get('region') ?? undefined;
  const tlsParam = u.searchParams.get('tls');
  const config: SQSClientConfig = {
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: 64 }, httpsAgent: { keepAlive: true, maxSockets: 64 } },
  };
  if (region !== undefined) config.region = region;
  if (u.host) {
    // A custom endpoint: every request goes there, whatever host the server writes into queue URLs.
    const tls = tlsParam === null ? !LOOPBACK.test(u.hostname) : tlsParam === 'true';
    config.endpoint = `${tls ? 'https' : 'http'}://${u.host}`;
    config.useQueueUrlAsEndpoint = false;
    config.region ??= 'us-east-1';
  }
  if (u.username) config.credentials = { accessKeyId: decodeURIComponent(u.username), secretAccessKey: decodeURIComponent(u.password) };
  return new SQSClient(config);
}

function envelopeAttributes(topic: string): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(envelopeHeaders(topic))) attributes[name] = { DataType: 'String', StringValue: value };
  return attributes;
}

export function rawSqsSide(url: string, options: { rawEnvelope: boolean }): Side {
  let client: SQSClient | undefined;
  const queueUrls = new Map<string, Promise<string>>();
  const open = () => {
    if (!client) throw new Error('raw sqs: connect() first');
    return client;
  };
  const queueUrl = (target: Target) => {
    const name = sqsQueueName(target);
    let found = queueUrls.get(name);
    if (!found) {
      found = open().send(new GetQueueUrlCommand({ QueueName: name })).then((r) => r.QueueUrl as string);
      queueUrls.set(name, found);
    }
    return found;
  };

  return {
    kind: 'raw',
    async connect() {
      if (client) return;
      client = sqsClient(url);
      await client.send(new ListQueuesCommand({ MaxResults: 1 }));
    },
    async prepare(target) {
      const created = await open().send(new CreateQueueCommand({ QueueName: sqsQueueName(target), Attributes: { VisibilityTimeout: '30' } }));
      queueUrls.set(sqsQueueName(target), Promise.resolve(created.QueueUrl as string));
    },
    async publisher(target): Promise<Publisher> {
      const sqs = open();
      const QueueUrl = await queueUrl(target);
      const entry = (body: BenchBody, id: number): SendMessageBatchRequestEntry => ({
        Id: String(id),
        MessageBody: JSON.stringify(body),
        ...(options.rawEnvelope ? { MessageAttributes: envelopeAttributes(target.topic) } : {}),
      });
      /** One SendMessageBatch; entries the broker failed (not the sender's fault) are sent again, three times at most. */
      async function sendEntries(entries: SendMessageBatchRequestEntry[]): Promise<void> {
        let left = entries;
        for (let attempt = 1; left.length > 0; attempt++) {
          const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: left }));
          const failed = result.Failed ?? [];
          if (failed.length === 0) return;
          if (attempt >= 3 || failed.some((f) => f.SenderFault)) throw new Error(`SendMessageBatch: ${failed.length} entries failed (${failed[0]?.Code}: ${failed[0]?.Message})`);
          const again = new Set(failed.map((f) => f.Id));
          left = left.filter((e) => again.has(e.Id));
        }
      }
      return {
        async sendBatch(bodies) {
          const calls: Promise<void>[] = [];
          for (let i = 0; i < bodies.length; i += BATCH) calls.push(sendEntries(bodies.slice(i, i + BATCH).map((body, j) => entry(body, i + j))));
          await Promise.all(calls);
        },
        async sendOne(body) {
          await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(body), ...(options.rawEnvelope ? { MessageAttributes: envelopeAttributes(target.topic) } : {}) }));
        },
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const sqs = open();
      const QueueUrl = await queueUrl(target);
      const abort = new AbortController();
      let inFlight = 0;
      let roomWaiters: (() => void)[] = [];
      const room = () => new Promise<void>((resolve) => roomWaiters.push(resolve));
      const freed = (count: number) => {
        inFlight -= count;
        const waiters = roomWaiters;
        roomWaiters = [];
        for (const wake of waiters) wake();
      };

      // Deletes of one event-loop turn share DeleteMessageBatch calls.
      let deletes: string[] = [];
      let flushing = false;
      const flush = () => {
        flushing = false;
        const handles = deletes;
        deletes = [];
        for (let i = 0; i < handles.length; i += BATCH) {
          const chunk = handles.slice(i, i + BATCH);
          sqs
            .send(new DeleteMessageBatchCommand({ QueueUrl, Entries: chunk.map((ReceiptHandle, j) => ({ Id: String(j), ReceiptHandle })) }))
            .catch((error: unknown) => console.error('raw sqs: DeleteMessageBatch failed:', error))
            .finally(() => freed(chunk.length));
        }
      };
      const ack = (handle: string) => {
        deletes.push(handle);
        if (!flushing) {
          flushing = true;
          setImmediate(flush);
        }
      };

      const poll = async () => {
        while (!abort.signal.aborted) {
          while (inFlight >= concurrency && !abort.signal.aborted) await room();
          if (abort.signal.aborted) return;
          const asked = Math.min(BATCH, concurrency - inFlight);
          inFlight += asked;
          let messages;
          try {
            messages = (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: asked, WaitTimeSeconds: 20, ...(options.rawEnvelope ? { MessageAttributeNames: ['All'] } : {}) }), { abortSignal: abort.signal })).Messages ?? [];
          } catch (error) {
            freed(asked);
            if (abort.signal.aborted) return;
            console.error('raw sqs: ReceiveMessage failed:', error);
            await new Promise((resolve) => setTimeout(resolve, 200));
            continue;
          }
          freed(asked - messages.length);
          for (const m of messages) {
            if (options.rawEnvelope) for (const name in m.MessageAttributes ?? {}) void m.MessageAttributes?.[name]?.StringValue;
            onBody(decodeBody(m.Body ?? ''));
            ack(m.ReceiptHandle as string);
          }
        }
      };
      const pollers = Array.from({ length: POLLERS }, poll);
      return {
        async close() {
          abort.abort();
          freed(0);
          await Promise.allSettled(pollers);
        },
      };
    },
    async close() {
      client?.destroy();
      client = undefined;
      queueUrls.clear();
    },
  };
}

/** Delete every queue whose name contains `marker` (raw and Omnibus queues); how many were deleted. */
export async function cleanSqs(url: string, marker: string): Promise<number> {
  const sqs = sqsClient(url);
  let removed = 0;
  try {
    const mine: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await sqs.send(new ListQueuesCommand({ MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }));
      for (const queue of page.QueueUrls ?? []) if (queue.slice(queue.lastIndexOf('/') + 1).includes(marker)) mine.push(queue);
      NextToken = page.NextToken;
    } while (NextToken);
    for (const QueueUrl of mine) {
      if (await sqs.send(new DeleteQueueCommand({ QueueUrl })).then(() => true, () => false)) removed += 1;
    }
  } finally {
    sqs.destroy();
  }
  return removed;
}
