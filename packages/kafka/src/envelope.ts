import { EnvelopeHeaders, type TransportMessage } from '@omnibus/core';
import type { FetchedRecord, OutgoingRecord } from './driver/driver.js';
import { encodedConstant } from './header-bytes.js';
import type { PartitionRole } from './subscription/partition.js';
import { TransportHeaders, WireHeaders } from './wire-names.js';

export { TransportHeaders, WireHeaders } from './wire-names.js';

/**
 * A message to write, with the transport headers for the topic it goes to.
 *
 * Core's envelope headers are renamed to the CloudEvents Kafka binding's (`ce-id` → `ce_id`, …;
 * `content-type` stays), user headers pass as they are. The attributes that never change for a
 * topic (source, type, specversion, content type) go out as shared pre-encoded Buffers. A user
 * header spelled like a binding attribute (core reserves `ce-`, not `ce_`) gives way to the
 * envelope's attribute when the message has it: on Kafka that name means the attribute.
 *
 * `omnibus-kafka-id` is written only when core's id header does not already carry the id
 * (the reader falls back to `ce_id`): one header less to encode and decode per message.
 */
export function toRecord(message: TransportMessage, kafkaTopic: string, extra?: { attempt?: number; dueAt?: number }): OutgoingRecord {
  const headers: Record<string, string | Buffer> = {};
  const source = message.headers;
  // One switch per header (this runs for every header of every record).
  for (const name in source) {
    const value = source[name] as string;
    switch (name) {
      case EnvelopeHeaders.id:
        headers[WireHeaders.id] = value;
        break;
      case EnvelopeHeaders.source:
        headers[WireHeaders.source] = encodedConstant(value);
        break;
      case EnvelopeHeaders.type:
        headers[WireHeaders.type] = encodedConstant(value);
        break;
      case EnvelopeHeaders.time:
        headers[WireHeaders.time] = value;
        break;
      case EnvelopeHeaders.specVersion:
        headers[WireHeaders.specVersion] = encodedConstant(value);
        break;
      case EnvelopeHeaders.contentType:
        headers[WireHeaders.contentType] = encodedConstant(value);
        break;
      case WireHeaders.id:
      case WireHeaders.source:
      case WireHeaders.type:
      case WireHeaders.time:
      case WireHeaders.specVersion:
        if (source[coreName(name)] === undefined) headers[name] = value;
        break;
      case TransportHeaders.id:
      case TransportHeaders.attempt:
      case TransportHeaders.due:
        break;
      default:
        headers[name] = value;
    }
  }
  if (source[EnvelopeHeaders.id] !== message.id) headers[TransportHeaders.id] = message.id;
  if (extra?.attempt !== undefined) headers[TransportHeaders.attempt] = String(extra.attempt);
  if (extra?.dueAt !== undefined) headers[TransportHeaders.due] = String(extra.dueAt);
  return { topic: kafkaTopic, key: message.key ?? null, value: message.body, headers };
}

/** Core's name of a binding attribute header (the rare path of a user header spelled like one). */
function coreName(wireName: (typeof WireHeaders)[Exclude<keyof typeof WireHeaders, 'contentType'>]): string {
  switch (wireName) {
    case WireHeaders.id:
      return EnvelopeHeaders.id;
    case WireHeaders.source:
      return EnvelopeHeaders.source;
    case WireHeaders.type:
      return EnvelopeHeaders.type;
    case WireHeaders.time:
      return EnvelopeHeaders.time;
    case WireHeaders.specVersion:
      return EnvelopeHeaders.specVersion;
  }
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
 * their CloudEvents id, else a stable id from their position.
 *
 * The envelope is read in both formats: the Kafka binding's `ce_` headers (0.2.0 on, and any
 * CloudEvents producer) and core's own `ce-` names (0.1 producers, still writing during a
 * rolling upgrade). Both come out under core's names; where a record has both, `ce_` wins.
 * Other headers, `ce_` extensions of foreign producers included, pass as they are.
 *
 * Transport headers are believed only where the transport writes them: the attempt on the
 * retry topic, the due time on the delay and retry topics. Anyone may write to a user topic
 * with a plain Kafka client; a record there is a fresh message (attempt 1, due at once)
 * whatever its headers say, so a foreign producer cannot skip the retry policy or park a
 * message (and the partition's commits) for ever. The internal topics are not reachable
 * through Omnibus, only with a raw client (see the README).
 */
export function fromRecord(record: FetchedRecord, offset: bigint, topic: string, kafkaTopic: string, partition: number, source: RecordSource): DecodedRecord {
  // The driver's headers object is fresh per record; the message gets a new one under core's
  // names, built in one pass (a switch per header, no delete).
  const wire = record.headers;
  const headers: Record<string, string> = {};
  let id: string | undefined;
  let attempt: string | undefined;
  let due: string | undefined;
  for (const name in wire) {
    const value = wire[name] as string;
    switch (name) {
      case WireHeaders.id:
        headers[EnvelopeHeaders.id] = value;
        break;
      case WireHeaders.source:
        headers[EnvelopeHeaders.source] = value;
        break;
      case WireHeaders.type:
        headers[EnvelopeHeaders.type] = value;
        break;
      case WireHeaders.time:
        headers[EnvelopeHeaders.time] = value;
        break;
      case WireHeaders.specVersion:
        headers[EnvelopeHeaders.specVersion] = value;
        break;
      // The 0.1 names: taken unless the binding's name came first (a later one overwrites them).
      case EnvelopeHeaders.id:
      case EnvelopeHeaders.source:
      case EnvelopeHeaders.type:
      case EnvelopeHeaders.time:
      case EnvelopeHeaders.specVersion:
        if (headers[name] === undefined) headers[name] = value;
        break;
      case TransportHeaders.id:
        id = value;
        break;
      case TransportHeaders.attempt:
        attempt = value;
        break;
      case TransportHeaders.due:
        due = value;
        break;
      default:
        headers[name] = value;
    }
  }
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
  for (const name in headers) size += Buffer.byteLength(name) + Buffer.byteLength(headers[name] as string | Buffer) + 2;
  return size;
}
