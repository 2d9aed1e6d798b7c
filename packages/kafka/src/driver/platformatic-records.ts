import type { RecordsBatch } from '@platformatic/kafka';
import type { FetchedRecord } from './driver.js';
import { EMPTY, copyOf } from './record-copy.js';

/** Batch attribute bit: a control batch (transaction markers). @platformatic/kafka 1.22 exports no name for it. */
const IS_CONTROL = 0x20;
/** Batch attribute bit: the broker stamped the records (LogAppendTime); the batch's max timestamp is theirs. */
const LOG_APPEND_TIME = 0x08;

/** The records of one partition's fetched batches, decoded, and the offset to fetch next. */
export interface DecodedPartition {
  readonly records: FetchedRecord[];
  /** After the last batch (control batches and compacted gaps included); `from` when there was none. */
  readonly nextOffset: bigint;
}

/**
 * Decode the record batches of one partition from `from` on. A batch may start before `from`
 * (the broker returns whole batches): those records were fetched already. Control batches
 * (transaction markers) carry no message but move the position.
 */
export function decodePartition(batches: readonly RecordsBatch[], from: bigint): DecodedPartition {
  const records: FetchedRecord[] = [];
  let nextOffset = from;
  for (const batch of batches) {
    const end = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (end > nextOffset) nextOffset = end;
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    const brokerStamped = (batch.attributes & LOG_APPEND_TIME) !== 0;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < from) continue;
      const headers: Record<string, string> = {};
      // A foreign producer may repeat a header: the last one wins (as with kafkajs).
      for (const [name, value] of record.headers) if (name !== null && value !== null) headers[name.toString('utf8')] = value.toString('utf8');
      records.push({
        offset: offset.toString(),
        timestamp: Number(brokerStamped ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta),
        key: record.key === null ? null : record.key.toString('utf8'),
        value: record.value === null ? EMPTY : copyOf(record.value),
        headers,
      });
    }
  }
  return { records, nextOffset };
}
