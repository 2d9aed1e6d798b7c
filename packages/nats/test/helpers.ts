import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Signal, silentLogger, type Delivery, type Transport } from '@omnibus/core';
import { createTransport, type NatsOptionsInput } from '@omnibus/nats';

/** A stream/subject prefix unique to this test run, so runs never see each other's streams. */
export function uniquePrefixes(label: string): { streamPrefix: string; subjectPrefix: string } {
  const tag = `${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return { streamPrefix: `T_${tag}`, subjectPrefix: `t_${tag}` };
}

/** Delete every stream whose name starts with `streamPrefix` (the shared server keeps file storage). */
export async function deleteStreams(url: string, streamPrefix: string): Promise<string[]> {
  const nc = await connect({ servers: serverOf(url) });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name.startsWith(`${streamPrefix}_`)) names.push(name);
    await Promise.all(names.map((name) => jsm.streams.delete(name)));
    return names;
  } finally {
    await nc.close();
  }
}

export function serverOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '4222'}`;
}

export async function adminConnection(url: string): Promise<NatsConnection> {
  return connect({ servers: serverOf(url) });
}

export function natsTransport(url: string, options: NatsOptionsInput): Transport {
  return createTransport({ url, options: options as Record<string, unknown>, logger: silentLogger });
}

/** The transport with its optional observability methods, which the nats transport has. */
export type ObservableTransport = Transport & Required<Pick<Transport, 'inspect' | 'deleteGroup' | 'health'>>;

export function observableTransport(url: string, options: NatsOptionsInput): ObservableTransport {
  const transport = natsTransport(url, options);
  if (!transport.inspect || !transport.deleteGroup || !transport.health) throw new Error('the nats transport has no inspect/deleteGroup/health');
  return transport as ObservableTransport;
}

/** Run `use` with a JetStream manager of a connection of its own (the broker's own client, for checks). */
export async function withJsm<T>(url: string, use: (jsm: JetStreamManager) => Promise<T>): Promise<T> {
  const nc = await adminConnection(url);
  try {
    return await use(await jetstreamManager(nc));
  } finally {
    await nc.close();
  }
}


/** Records raw deliveries and errors of a transport subscription; tests await conditions on them. */
export function collector() {
  const signal = new Signal();
  const deliveries: Delivery[] = [];
  const errors: Error[] = [];
  let onEach: ((delivery: Delivery) => void) | undefined;
  return {
    deliveries,
    errors,
    /** What to do with each delivery (default: leave it unsettled). */
    set handle(fn: (delivery: Delivery) => void) {
      onEach = fn;
    },
    onDelivery: (delivery: Delivery) => {
      deliveries.push(delivery);
      onEach?.(delivery);
      signal.notify();
    },
    onError: (error: Error) => {
      errors.push(error);
      signal.notify();
    },
    notify: () => signal.notify(),
    until: (check: () => boolean, timeoutMs: number, what: string) => signal.until(check, timeoutMs, () => `${what} (${deliveries.length} deliveries so far)`),
  };
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
