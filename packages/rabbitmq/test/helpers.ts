/**
 * Helpers for the RabbitMQ-specific tests: a raw amqplib connection to inspect the broker,
 * rabbitmqctl (to cut only our own connections, list queue arguments), a delivery log, and cleanup
 * of everything a test run declared. The TCP proxy and the recording logger are in @omnibus/test-support.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Signal, silentLogger, type Delivery, type Logger, type Transport } from '@omnibus/core';
import { createTransport, type RabbitMQOptionsInput } from '@omnibus/rabbitmq';

const run = promisify(execFile);

/** A fresh prefix per test file, so its exchanges and queues can be found and deleted afterwards. */
export function testPrefix(label: string): string {
  return `rt-${label}-${randomBytes(3).toString('hex')}.`;
}

export function uniqueTopic(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function makeTransport(url: string, options: RabbitMQOptionsInput, logger: Logger = silentLogger): Transport {
  return createTransport({ url, options: { reconnect: { initialDelayMs: 50, maxDelayMs: 500 }, ...options } as Record<string, unknown>, logger });
}

// ---------------------------------------------------------------- rabbitmqctl

let ctlAvailable: boolean | undefined;

/** Whether rabbitmqctl runs here and talks to the test broker's node (it does on a local broker). */
export async function hasRabbitmqctl(): Promise<boolean> {
  if (ctlAvailable === undefined) {
    try {
      await run('rabbitmqctl', ['-q', 'list_vhosts'], { timeout: 30_000 });
      ctlAvailable = true;
    } catch {
      ctlAvailable = false;
    }
  }
  return ctlAvailable;
}

async function ctlJson<T>(args: string[]): Promise<T[]> {
  const { stdout } = await run('rabbitmqctl', [...args, '--formatter', 'json', '-q'], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  const text = stdout.trim();
  return text ? (JSON.parse(text) as T[]) : [];
}

type AmqpTable = [string, string, unknown][];

export interface QueueInfo {
  name: string;
  durable: boolean;
  type: string;
  arguments: Record<string, unknown>;
}

export async function listQueues(prefix: string): Promise<QueueInfo[]> {
  const rows = await ctlJson<{ name: string; durable: boolean; type: string; arguments: AmqpTable }>(['list_queues', 'name', 'durable', 'type', 'arguments']);
  return rows.filter((r) => r.name.startsWith(prefix)).map((r) => ({ ...r, arguments: Object.fromEntries(r.arguments.map(([k, , v]) => [k, v])) }));
}

export async function listBindings(prefix: string): Promise<{ source_name: string; destination_name: string; routing_key: string }[]> {
  const rows = await ctlJson<{ source_name: string; destination_name: string; routing_key: string }>(['list_bindings', 'source_name', 'destination_name', 'routing_key']);
  return rows.filter((r) => r.source_name.startsWith(prefix));
}

export async function listConsumers(queue: string): Promise<{ queue_name: string; prefetch_count: number }[]> {
  const rows = await ctlJson<{ queue_name: string; prefetch_count: number }>(['list_consumers', 'queue_name', 'prefetch_count']);
  return rows.filter((r) => r.queue_name === queue);
}

/** Connections whose `connection_name` client property is `name`: pid (for close_connection) and heartbeat. */
export async function connectionsNamed(name: string): Promise<{ pid: string; timeout: number }[]> {
  // JSON output shows pids in a form close_connection does not take: read the tab-separated one.
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'timeout', 'client_properties'], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((cols) => cols.length >= 3 && (cols[2] ?? '').includes(`{"connection_name","${name}"}`))
    .map((cols) => ({ pid: cols[0] as string, timeout: Number(cols[1]) }));
}

/** Close from the broker side ONLY the connections named `name` (never anybody else's). */
export async function closeConnectionsNamed(name: string, reason = 'omnibus test: connection cut'): Promise<number> {
  const found = await connectionsNamed(name);
  await Promise.all(found.map(({ pid }) => run('rabbitmqctl', ['-q', 'close_connection', pid, reason], { timeout: 60_000 })));
  return found.length;
}

// ---------------------------------------------------------------- raw broker access

export interface Raw {
  readonly model: ChannelModel;
  channel(): Promise<Channel>;
  close(): Promise<void>;
}

/** A plain amqplib connection for looking at (and breaking) the broker state. */
export async function rawConnection(url: string): Promise<Raw> {
  const model = await connect(url, { clientProperties: { connection_name: 'omnibus-test-inspector' } });
  model.on('error', () => {});
  return {
    model,
    async channel() {
      const channel = await model.createChannel();
      channel.on('error', () => {});
      return channel;
    },
    close: () => model.close().catch(() => {}),
  };
}

/** Delete every queue and exchange whose name starts with `prefix` (best effort, needs rabbitmqctl). */
export async function cleanupPrefix(url: string, prefix: string): Promise<void> {
  if (!prefix || !(await hasRabbitmqctl())) return;
  const queues = (await ctlJson<{ name: string }>(['list_queues', 'name'])).map((q) => q.name).filter((n) => n.startsWith(prefix));
  const exchanges = (await ctlJson<{ name: string }>(['list_exchanges', 'name'])).map((e) => e.name).filter((n) => n.startsWith(prefix));
  const raw = await rawConnection(url);
  try {
    for (const name of queues) await (await raw.channel()).deleteQueue(name).catch(() => {});
    for (const name of exchanges) await (await raw.channel()).deleteExchange(name).catch(() => {});
  } finally {
    await raw.close();
  }
}

// ---------------------------------------------------------------- waiting

/** Collects deliveries of a raw transport subscription; tests await counts instead of sleeping. */
export function deliveryLog(settle: (delivery: Delivery) => Promise<void> | void = (d) => d.ack()): {
  deliveries: Delivery[];
  errors: Error[];
  onDelivery: (delivery: Delivery) => void;
  onError: (error: Error) => void;
  waitFor(predicate: (deliveries: Delivery[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  waitForError(pattern: RegExp, timeoutMs?: number): Promise<Error>;
} {
  const deliveries: Delivery[] = [];
  const errors: Error[] = [];
  const signal = new Signal();
  return {
    deliveries,
    errors,
    onDelivery: (delivery) => {
      deliveries.push(delivery);
      signal.notify();
      void Promise.resolve(settle(delivery)).finally(() => signal.notify());
    },
    onError: (error) => {
      errors.push(error);
      signal.notify();
    },
    waitFor: (predicate, what, timeoutMs = 20_000) => signal.until(() => predicate(deliveries), timeoutMs, () => `${what} (${deliveries.length} deliveries so far)`),
    async waitForError(pattern, timeoutMs = 20_000) {
      let found: Error | undefined;
      await signal.until(() => (found = errors.find((e) => pattern.test(e.message))) !== undefined, timeoutMs, () => `an error matching ${pattern}`);
      return found as Error;
    },
  };
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
export const text = (body: Uint8Array): string => new TextDecoder().decode(body);

// ---------------------------------------------------------------- per-file harness

/**
 * What most test files set up the same way: a prefix of their own, a raw connection to look at
 * the broker, transports opened on that prefix and closed after each test, and everything under
 * the prefix deleted after the file. Call it inside the describe block.
 */
export function rabbitHarness(url: string, label: string, defaults: RabbitMQOptionsInput = {}) {
  const prefix = testPrefix(label);
  const transports: Transport[] = [];
  let raw: Raw | undefined;
  beforeAll(async () => {
    raw = await rawConnection(url);
  });
  afterEach(async () => {
    await Promise.allSettled(transports.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await raw?.close();
    await cleanupPrefix(url, prefix);
  });
  return {
    prefix,
    /** A transport on the harness' prefix, closed after the test. */
    open(options: Record<string, unknown> = {}, logger: Logger = silentLogger): Transport {
      const transport = makeTransport(url, { ...defaults, prefix, ...options }, logger);
      transports.push(transport);
      return transport;
    },
    /** The raw connection (opened before the first test). */
    get raw(): Raw {
      if (!raw) throw new Error('rabbitHarness: the raw connection is opened in beforeAll');
      return raw;
    },
  };
}
