// Raw AMQP 1.0 on ActiveMQ Artemis with rhea, written as a careful user would: a MULTICAST address
// per topic (a sender with the `topic` capability), a durable queue per group on it (attached by
// its fully-qualified name `address::queue`, which Artemis creates on the first attach), durable
// messages, and a publish resolves only on the broker's `accepted` disposition; while the sender has
// no credit it waits for `sendable`. The consumer grants credit itself (window = concurrency), accepts
// every message and returns one credit per accepted message.
import rhea, { type Connection, type Delivery, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { decodeBody, encodeBody, envelopeHeaders, type BenchBody } from '../lib/payload.js';
import type { Consumer, Publisher, Side, Target } from './types.js';

/** Artemis creates what a link with this capability names as a MULTICAST address (a topic). */
const TOPIC = 'topic';
const MANAGEMENT = 'activemq.management';

export const amqp10Queue = (target: Target) => `${target.topic}/${target.group}`;
const fqqn = (target: Target) => `${target.topic}::${amqp10Queue(target)}`;

/** amqp10[s]://user:pass@host:port → rhea's connect options (SASL PLAIN with the credentials, TLS with amqp10s). */
export function amqp10ConnectOptions(url: string, containerId: string): Parameters<typeof rhea.connect>[0] {
  const u = new URL(url);
  const tls = u.protocol === 'amqp10s:';
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: Number(u.port || (tls ? 5671 : 5672)),
    ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
    ...(tls ? { transport: 'tls' as const } : {}),
    container_id: containerId,
    reconnect: false,
    idle_time_out: 30_000,
  };
}

/** Wait for `ok` on an emitter, or reject on `fail` (rhea reports refusals as *_error events). */
function once(emitter: { once(event: string, listener: (context: EventContext) => void): unknown }, ok: string, fail: string, what: string): Promise<EventContext> {
  return new Promise((resolve, reject) => {
    emitter.once(ok, resolve);
    emitter.once(fail, (context: EventContext) => reject(new Error(`${what}: ${JSON.stringify(context.receiver?.error ?? context.sender?.error ?? context.connection?.error ?? 'refused')}`)));
  });
}

export async function openAmqp10(url: string, containerId: string): Promise<Connection> {
  const connection = rhea.create_container({ id: containerId }).connect(amqp10ConnectOptions(url, containerId));
  await once(connection, 'connection_open', 'connection_error', 'amqp10 connect');
  return connection;
}

export async function closeAmqp10(connection: Connection): Promise<void> {
  if (!connection.is_open()) return;
  const closed = new Promise<void>((resolve) => connection.once('connection_close', () => resolve()));
  connection.close();
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 5_000))]);
}

/** The body of a received message: a data section (what the raw side sends) or a plain value. */
function bodyBytes(message: Message): Buffer | string {
  const body = message.body as unknown;
  if (Buffer.isBuffer(body) || typeof body === 'string') return body;
  const content = (body as { content?: unknown } | undefined)?.content;
  if (Buffer.isBuffer(content)) return content;
  throw new Error('raw amqp10: unexpected message body');
}

/** A sender link and the callbacks of its deliveries the broker has not settled yet, by delivery id. */
interface OutcomeSender {
  readonly link: Sender;
  readonly pending: Map<number, (error?: Error) => void>;
}

export function rawAmqp10Side(url: string, options: { rawEnvelope: boolean }): Side {
  let connection: Connection | undefined;
  const senders = new Map<string, Promise<OutcomeSender>>();
  const open = () => {
    if (!connection) throw new Error('raw amqp10: connect() first');
    return connection;
  };

  /** One sender per address; every delivery's outcome is routed to its callback. */
  function senderFor(address: string): Promise<OutcomeSender> {
    let sender = senders.get(address);
    if (!sender) {
      sender = (async () => {
        const link = open().open_sender({ target: { address, capabilities: [TOPIC] }, autosettle: true });
        const pending = new Map<number, (error?: Error) => void>();
        const settle = (error: Error | undefined) => (context: EventContext) => {
          const done = context.delivery && pending.get(context.delivery.id);
          if (!done || !context.delivery) return;
          pending.delete(context.delivery.id);
          done(error);
        };
        link.on('accepted', settle(undefined));
        for (const outcome of ['rejected', 'released', 'modified']) link.on(outcome, settle(new Error(`message ${outcome} by the broker`)));
        await once(link, 'sender_open', 'sender_error', `attach sender ${address}`);
        return { link, pending };
      })();
      senders.set(address, sender);
    }
    return sender;
  }

  function message(topic: string, body: BenchBody): Message {
    const data = rhea.message.data_section(encodeBody(body)) as unknown;
    if (!options.rawEnvelope) return { durable: true, content_type: 'application/json', body: data };
    const { 'ce-id': id, 'ce-type': type, 'content-type': contentType, ...rest } = envelopeHeaders(topic) as Record<string, string> & { 'ce-id': string; 'ce-type': string; 'content-type': string };
    return { durable: true, message_id: id, subject: type, content_type: contentType, application_properties: rest, body: data };
  }

  return {
    kind: 'raw',
    async connect() {
      connection ??= await openAmqp10(url, `omnibench-raw-${process.pid}-${Date.now().toString(36)}`);
    },
    async prepare(target) {
      // Attach to the group's queue without credit, then detach (not close): the durable queue stays.
      const receiver = open().open_receiver({ source: { address: fqqn(target), capabilities: [TOPIC] }, credit_window: 0, autoaccept: false });
      await once(receiver, 'receiver_open', 'receiver_error', `attach ${fqqn(target)}`);
      const detached = once(receiver, 'receiver_close', 'receiver_error', `detach ${fqqn(target)}`);
      receiver.detach();
      await detached;
    },
    async publisher(target): Promise<Publisher> {
      const { link: sender, pending } = await senderFor(target.topic);
      let credit: Promise<void> | undefined;
      const waitCredit = () => (credit ??= new Promise<void>((resolve) => sender.once('sendable', () => ((credit = undefined), resolve()))));
      const send = async (body: BenchBody, done: (error?: Error) => void) => {
        while (!sender.sendable()) await waitCredit();
        const delivery: Delivery = sender.send(message(target.topic, body));
        pending.set(delivery.id, done);
      };
      return {
        async sendBatch(bodies) {
          let resolve!: () => void;
          let reject!: (e: Error) => void;
          const accepted = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
          let left = bodies.length;
          const done = (error?: Error) => (error ? reject(error) : --left === 0 && resolve());
          for (const body of bodies) await send(body, done);
          await accepted;
        },
        async sendOne(body) {
          await new Promise<void>((resolve, reject) => void send(body, (error) => (error ? reject(error) : resolve())));
        },
      };
    },
    async consume(target, concurrency, onBody): Promise<Consumer> {
      const receiver: Receiver = open().open_receiver({ source: { address: fqqn(target), capabilities: [TOPIC] }, credit_window: 0, autoaccept: false });
      receiver.on('message', (context: EventContext) => {
        if (!context.message || !context.delivery) return;
        if (options.rawEnvelope) for (const name in context.message.application_properties ?? {}) void context.message.application_properties?.[name];
        onBody(decodeBody(bodyBytes(context.message)));
        context.delivery.accept();
        receiver.add_credit(1);
      });
      await once(receiver, 'receiver_open', 'receiver_error', `attach ${fqqn(target)}`);
      receiver.add_credit(concurrency);
      return {
        async close() {
          const detached = once(receiver, 'receiver_close', 'receiver_error', 'detach').catch(() => undefined);
          receiver.detach();
          await Promise.race([detached, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        },
      };
    },
    async close() {
      const current = connection;
      connection = undefined;
      senders.clear();
      if (current) await closeAmqp10(current);
    },
  };
}

/**
 * Artemis' management over AMQP: a request to `activemq.management` naming the resource and an
 * attribute or an operation (its parameters a JSON array in the body); the answer comes to a
 * dynamic queue of this connection as a JSON array.
 */
async function management(connection: Connection): Promise<{ call(properties: Record<string, string>, body: string): Promise<unknown>; close(): void }> {
  const replies = connection.open_receiver({ source: { address: '', dynamic: true }, credit_window: 10, autoaccept: true });
  const requests = connection.open_sender({ target: { address: MANAGEMENT } });
  const [opened] = await Promise.all([once(replies, 'receiver_open', 'receiver_error', 'management replies'), once(requests, 'sender_open', 'sender_error', 'management')]);
  const replyTo = String((opened.receiver as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address);
  const pending = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  replies.on('message', (context: EventContext) => {
    const reply = context.message;
    const waiting = reply?.correlation_id === undefined ? undefined : pending.get(String(reply.correlation_id));
    if (!reply || !waiting) return;
    pending.delete(String(reply.correlation_id));
    const body = reply.body as unknown;
    const text = typeof body === 'string' ? body : String((body as { content?: Buffer } | undefined)?.content ?? body);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // an error text
    }
    const result = Array.isArray(value) ? value[0] : value;
    if (reply.application_properties?._AMQ_OperationSucceeded === true) waiting.resolve(result);
    else waiting.reject(new Error(String(result)));
  });
  let counter = 0;
  return {
    call(properties, body) {
      const id = `omnibench-mgmt-${++counter}`;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        requests.send({ message_id: id, reply_to: replyTo, application_properties: properties, body });
        setTimeout(() => pending.has(id) && (pending.delete(id), reject(new Error('no answer from activemq.management within 10 s'))), 10_000).unref();
      });
    },
    close() {
      replies.close();
      requests.close();
    },
  };
}

/** Destroy every queue, then every address, whose name contains `marker`; how many were removed. */
export async function cleanAmqp10(url: string, marker: string): Promise<number> {
  const connection = await openAmqp10(url, `omnibench-cleanup-${process.pid}`);
  try {
    const mgmt = await management(connection);
    const names = async (attribute: string) => ((await mgmt.call({ _AMQ_ResourceName: 'broker', _AMQ_Attribute: attribute }, '[]')) as unknown[]).map(String).filter((name) => name.includes(marker));
    let removed = 0;
    for (const queue of await names('queueNames')) {
      if (await mgmt.call({ _AMQ_ResourceName: 'broker', _AMQ_OperationName: 'destroyQueue' }, JSON.stringify([queue, true])).then(() => true, () => false)) removed += 1;
    }
    for (const address of await names('addressNames')) {
      if (await mgmt.call({ _AMQ_ResourceName: 'broker', _AMQ_OperationName: 'deleteAddress' }, JSON.stringify([address])).then(() => true, () => false)) removed += 1;
    }
    mgmt.close();
    return removed;
  } finally {
    await closeAmqp10(connection);
  }
}
