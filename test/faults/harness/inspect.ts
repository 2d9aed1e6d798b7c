// Diagnostics for a scenario that lost messages: read the broker directly with the raw client and say,
// per lost id, whether the broker stored it (then the consumer side skipped it) or not (then publish
// resolved without a durable accept). Printed with the failure, for the transport's owner.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

export interface InspectTarget {
  readonly url: string;
  /** The transport options the scenario used (for prefixes). */
  readonly options: Record<string, unknown>;
  readonly topic: string;
  readonly group: string;
}

/** Kafka: where each id sits in the topic's log, and the group's committed offsets. */
export async function inspectKafka(target: InspectTarget, ids: readonly string[], timeoutMs = 30_000): Promise<string> {
  const prefix = typeof target.options.prefix === 'string' ? target.options.prefix : '';
  const kafkaTopic = `${prefix}${target.topic}`;
  const groupId = `${prefix}${target.topic}.${target.group}`;
  const brokers = new URL(target.url).host.split(',');
  const kafka = new Kafka({ clientId: 'omnibus-faults-inspect', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const lines: string[] = [];
  try {
    const high = await admin.fetchTopicOffsets(kafkaTopic);
    const committed = await admin.fetchOffsets({ groupId, topics: [kafkaTopic] });
    lines.push(`log end offsets of ${kafkaTopic}: ${high.map((p) => `p${p.partition}=${p.high}`).join(' ')}`);
    lines.push(`committed offsets of group ${groupId}: ${committed.flatMap((t) => t.partitions.map((p) => `p${p.partition}=${p.offset}`)).join(' ')}`);

    const wanted = new Set(ids);
    const found = new Map<string, string>();
    const remaining = new Map(high.map((p) => [p.partition, Number(p.high)]));
    for (const [partition, end] of remaining) if (end === 0) remaining.delete(partition);
    const consumer = kafka.consumer({ groupId: `omnibus-faults-inspect-${randomBytes(4).toString('hex')}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [kafkaTopic], fromBeginning: true });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        const check = () => {
          if (remaining.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        };
        check();
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            const id = message.headers?.['omnibus-kafka-id']?.toString() ?? message.headers?.['ce_id']?.toString() ?? message.headers?.['ce-id']?.toString(); // ce_id: the CloudEvents Kafka binding since 0.2.0; ce-id: earlier records
            if (id && wanted.has(id)) found.set(id, `${found.has(id) ? `${found.get(id)}, ` : ''}p${partition}@${message.offset}`);
            if (Number(message.offset) + 1 >= (remaining.get(partition) ?? Infinity)) remaining.delete(partition);
            check();
          },
        });
      });
    } finally {
      await consumer.disconnect();
    }
    for (const id of ids) lines.push(`${id}: ${found.has(id) ? `stored at ${found.get(id)}` : 'NOT in the log'}`);
    if (remaining.size > 0) lines.push(`(scan incomplete: partitions ${[...remaining.keys()].join(',')} not read to the end)`);
  } finally {
    await admin.disconnect();
  }
  return lines.join('\n');
}
