import type { KafkaDriver, OutgoingRecord } from './driver/driver.js';
import { recordSize } from './envelope.js';

/**
 * The sentence for a publish the broker refused with MESSAGE_TOO_LARGE: which record, its size
 * on the wire, the topic's limit (asked from the broker, best effort) and what to change.
 * kafkajs' own message ("larger than the max message size the server will accept") says none of it.
 */
export async function describeTooLarge(driver: KafkaDriver, records: readonly OutgoingRecord[], ids: readonly string[], maxMessageBytes: number): Promise<string> {
  let largest = 0;
  for (let index = 1; index < records.length; index += 1) {
    if (recordSize(records[index] as OutgoingRecord) > recordSize(records[largest] as OutgoingRecord)) largest = index;
  }
  const record = records[largest] as OutgoingRecord;
  const size = recordSize(record);
  const limit = await driver.topicMaxMessageBytes(record.topic).catch(() => undefined);
  const brokerLimit = limit === undefined ? 'its max.message.bytes' : `its max.message.bytes of ${limit} bytes`;
  return (
    `the broker refused message "${ids[largest] ?? '?'}" (${size} bytes on the wire, ${records.length > 1 ? `the largest of ${records.length}, ` : ''}Kafka topic "${record.topic}") ` +
    `as larger than ${brokerLimit} (a record batch); maxMessageBytes is ${maxMessageBytes}: keep it below the broker's limit ` +
    "(by about 48 KB for the transport's framing and headers) or raise the topic's max.message.bytes"
  );
}
