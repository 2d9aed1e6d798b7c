import { ErrorCodes, isOmnibusError, TimeoutError, type BatchItem, type Bus, type ErrorCode } from '@omnibus/core';
import type { EncodedTopics } from './encoded-topic.js';
import type { OutboxRow } from './rows.js';
import { byTopic, waves } from './waves.js';

export interface WaveResult {
  readonly sent: readonly OutboxRow[];
  readonly failed: readonly { readonly row: OutboxRow; readonly error: unknown }[];
}

/**
 * Errors that are about one message, not the broker: a batch refused for one of them is sent
 * again row by row, so that only the row at fault stays behind.
 */
const ROW_ERRORS: readonly ErrorCode[] = [ErrorCodes.messageTooLarge, ErrorCodes.validation, ErrorCodes.config, ErrorCodes.unsupported];

/** Publishes a claimed batch in waves (see waves.ts). `afterWave` runs after each wave with what it sent. */
export async function publishRows(
  bus: Bus,
  topics: EncodedTopics,
  rows: readonly OutboxRow[],
  timeoutMs: number,
  afterWave: (sent: readonly OutboxRow[]) => Promise<void>,
): Promise<WaveResult> {
  const sent: OutboxRow[] = [];
  const failed: { row: OutboxRow; error: unknown }[] = [];
  const stopped = new Set<string>();
  for (const wave of waves(rows)) {
    const todo = wave.filter((row) => row.key === null || !stopped.has(row.key));
    if (todo.length === 0) break;
    const outcomes = await Promise.all(byTopic(todo).map((group) => publishGroup(bus, topics, group, timeoutMs)));
    const waveSent: OutboxRow[] = [];
    for (const outcome of outcomes) {
      waveSent.push(...outcome.sent);
      for (const failure of outcome.failed) {
        failed.push(failure);
        if (failure.row.key !== null) stopped.add(failure.row.key);
      }
    }
    sent.push(...waveSent);
    if (waveSent.length) await afterWave(waveSent);
  }
  return { sent, failed };
}

async function publishGroup(bus: Bus, topics: EncodedTopics, group: readonly OutboxRow[], timeoutMs: number): Promise<WaveResult> {
  try {
    await withTimeout(bus.publishBatch(topicOf(topics, group), group.map(item)), timeoutMs);
    return { sent: group, failed: [] };
  } catch (error) {
    if (group.length > 1 && ROW_ERRORS.some((code) => isOmnibusError(error, code))) {
      const single = await Promise.all(group.map((row) => publishGroup(bus, topics, [row], timeoutMs)));
      return { sent: single.flatMap((r) => r.sent), failed: single.flatMap((r) => r.failed) };
    }
    return { sent: [], failed: group.map((row) => ({ row, error })) };
  }
}

const topicOf = (topics: EncodedTopics, group: readonly OutboxRow[]) => {
  const first = group[0] as OutboxRow;
  return topics.get(first.topic, first.content_type);
};

/** The row's id is the message id, every time the row is sent. */
function item(row: OutboxRow): BatchItem<Uint8Array> {
  const due = row.deliver_at !== null && row.deliver_at.getTime() > Date.now() ? row.deliver_at : undefined;
  return {
    body: row.body,
    id: row.id,
    ...(row.key !== null && { key: row.key }),
    ...(row.headers !== null && { headers: row.headers }),
    ...(due && { deliverAt: due }),
  };
}

/** A publish still pending after `ms` counts as failed; if it lands later, the retry is a duplicate with the same id. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`publish not accepted within ${ms} ms`)), ms);
  });
  promise.catch(() => {}); // a late rejection after the timeout is not unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
