import { randomBytes } from 'node:crypto';
import { Signal, type Delivery, type Logger, type Transport } from '@omnibus/core';
import { fastKafkaOptions, recordingLogger, type LogEntry } from '@omnibus/test-support';
import type { Admin } from 'kafkajs';
import { createTransport, type KafkaDriverName, type KafkaOptionsInput } from '../src/index.js';

/** A prefix per test file: every topic and group it creates can be found and deleted. */
export function testPrefix(label: string): string {
  return `omnibus-kt-${label}-${randomBytes(3).toString('hex')}.`;
}

export function unique(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** Offsets committed according to a log entry of the transport. */
export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly metadata: string | null;
}

export const isCommit = (entry: LogEntry): boolean => entry.message === 'kafka: offsets committed';
export const commitsOf = (entry: LogEntry): CommittedOffset[] => (entry.fields.offsets as CommittedOffset[] | undefined) ?? [];
export const isAssignment = (entry: LogEntry): boolean => entry.message === 'kafka: partitions assigned';

/**
 * The driver these tests run on: the default (@platformatic/kafka) unless KAFKA_DRIVER names
 * another (`KAFKA_DRIVER=kafkajs npx vitest run packages/kafka`); a bad name is a ConfigError.
 */
export const testDriver = (process.env.KAFKA_DRIVER || 'platformatic') as KafkaDriverName;

export function makeTransport(url: string, prefix: string, options: KafkaOptionsInput = {}, logger: Logger = recordingLogger()): Transport {
  return createTransport({ url, logger, options: { ...fastKafkaOptions, prefix, driver: testDriver, ...options } });
}

/** Raw deliveries of a transport subscription, awaitable. */
export class DeliveryLog {
  readonly deliveries: Delivery[] = [];
  private readonly signal = new Signal();

  readonly onDelivery = (delivery: Delivery): void => {
    this.deliveries.push(delivery);
    this.signal.notify();
  };

  async waitFor(predicate: (d: Delivery) => boolean, timeoutMs = 20_000, what = 'a matching delivery'): Promise<Delivery> {
    let found: Delivery | undefined;
    await this.signal.until(() => (found = this.deliveries.find(predicate)) !== undefined, timeoutMs, () => `${what} (${this.deliveries.length} so far)`);
    return found as Delivery;
  }

  async waitForCount(count: number, timeoutMs = 20_000): Promise<void> {
    await this.signal.until(() => this.deliveries.length >= count, timeoutMs, () => `${count} deliveries (got ${this.deliveries.length})`);
  }
}

/** Committed offset of one partition of a group, from the broker. */
export async function committedOffset(admin: Admin, groupId: string, topic: string, partition: number): Promise<string | undefined> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return entry?.partitions.find((p) => p.partition === partition)?.offset;
}

export const body = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
