import { EnvelopeHeaders, type TransportMessage } from '@omnibus/core';
import type { FetchedRecord, OutgoingRecord } from './driver/driver.js';
import type { PartitionRole } from './subscription/partition.js';

/**
 * Headers the transport writes for itself. They never reach `message.headers`.
 * Core reserves the `omnibus-` prefix, so user headers cannot collide with them.
 */
export const TransportHeaders = {
  /** The Omnibus message id (a raw transport publish may carry no `ce-id`). */
  id: 'omnibus-kafka-id',
  /** Attempt number of the next delivery of a message in a retry topic. */
  attempt: 'omnibus-kafka-attempt',
  /** Epoch milliseconds before which a delay/retry-topic message is not delivered. */
  due: 'omnibus-kafka-due',
} as const;

/** Whether `name` is one of the transport's own headers (a switch: this runs for every header of every record). */
function isTransportHeader(name: string): boolean {
  switch (name) {
    case TransportHeaders.id:
    case TransportHeaders.attempt:
    case TransportHeaders.due:
      return true;
    default:
      return false;
  }
}

/**
 * A message to write, with the transport headers for the topic it goes to.
 * `omnibus-kafka-id` is written only when core's id header (`ce-id`) does not already carry the id
 * (the reader falls back to `ce-id`): one header less to encode and decode per message.
 */
export function toRecord(message: TransportMessage, kafkaTopic: string, extra?: { attempt?: number; dueAt?: number }): OutgoingRecord {
  const headers: Record<string, string> = {};
  const source = message.headers;
  for (const name in source) if (!isTransportHeader(name)) headers[name] = source[name] as string;
  if (headers[EnvelopeHeaders.id] !== message.id) headers[TransportHeaders.id] = message.id;
  if (extra?.attempt !== undefined) headers[TransportHeaders.attempt] = String(extra.attempt);
  if (extra?.dueAt !== undefined) headers[TransportHeaders.due] = String(extra.dueAt);
  return { topic: kafkaTopic, key: message.key ?? null, value: message.body, headers };
}

/** What a fetched record means to Omnibus (the shape of a partition buffer entry). */
export interface DecodedRecord {
  readonly offset: bigint;
  readonly message: TransportMessage;
  /** Attempt written by the transport (retry topic only), else 1; one more after a takeover. */
  readonly attempt: number;
  /** Not deliverable before this epoch-ms time (0: at once). */
  readonly dueAt: number;
  /** The record's Kafka timestamp, epoch ms (Delivery.metadata). */
  readonly timestamp: number;
}

/** The partition a record was fetched from, as far as decoding it goes. */
export interface RecordSource {
  /** Which of the subscription's topics: only the transport writes its bookkeeping to delay and retry topics. */
  readonly role: PartitionRole;
  /** The attempt to deliver, from the recorded one (a takeover counts one more). */
  attemptOf(offset: bigint, recorded: number): number;
}

/**
 * Rebuild the Omnibus message. `topic` is the Omnibus topic (a delay or retry topic
 * still delivers messages of its main topic). Records written by other producers get
 * their `ce-id`, else a stable id from their position.
 *
 * Transport headers are believed only where the transport writes them: the attempt on the
 * retry topic, the due time on the delay and retry topics. Anyone may write to a user topic
 * with a plain Kafka client; a record there is a fresh message (attempt 1, due at once)
 * whatever its headers say, so a foreign producer cannot skip the retry policy or park a
 * message (and the partition's commits) for ever. The internal topics are not reachable
 * through Omnibus, only with a raw client (see the README).
 */
export function fromRecord(record: FetchedRecord, offset: bigint, topic: string, kafkaTopic: string, partition: number, source: RecordSource): DecodedRecord {
  // The driver hands over a fresh headers object per record: the message keeps it, minus the
  // transport's own headers (present on retry and delay topics only), so nothing is copied.
  const headers = record.headers;
  const id = headers[TransportHeaders.id];
  const attempt = headers[TransportHeaders.attempt];
  const due = headers[TransportHeaders.due];
  if (id !== undefined) delete headers[TransportHeaders.id];
  if (attempt !== undefined) delete headers[TransportHeaders.attempt];
  if (due !== undefined) delete headers[TransportHeaders.due];
  return {
    offset,
    message: { id: id ?? headers[EnvelopeHeaders.id] ?? `${kafkaTopic}/${partition}/${record.offset}`, topic, key: record.key ?? undefined, headers, body: record.value },
    attempt: source.attemptOf(offset, attempt === undefined || source.role !== 'retry' ? 1 : (positiveInt(attempt) ?? 1)),
    dueAt: due === undefined || source.role === 'main' ? 0 : (positiveInt(due) ?? 0),
    timestamp: record.timestamp,
  };
}

function positiveInt(value: string): number | undefined {
  if (!/^\d{1,16}$/.test(value)) return undefined;
  const parsed = Number(value);
  return parsed > 0 ? parsed : undefined;
}

/** Bytes a record takes on the wire, near enough to enforce `maxMessageBytes`. */
export function recordSize(record: OutgoingRecord): number {
  let size = record.value.byteLength + (record.key === null ? 0 : Buffer.byteLength(record.key));
  const headers = record.headers;
  for (const name in headers) size += Buffer.byteLength(name) + Buffer.byteLength(headers[name] as string) + 2;
  return size;
}
