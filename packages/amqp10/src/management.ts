import type { EventContext, Message, Receiver, Sender } from 'rhea';
import { ConnectionError, withTimeout } from '@omnibus/core';
import type { ConnectionManager, LiveConnection } from './connection.js';
import type { Scrubber } from './errors.js';

/** Artemis' management address (its `management-address` setting's default). */
export const MANAGEMENT_ADDRESS = 'activemq.management';

/** A management call the broker refused, with its own words (e.g. AMQ229017: the queue does not exist). */
export class ManagementRefusal extends Error {
  override readonly name = 'ManagementRefusal';
}

/** Artemis' answer for a resource it does not have (an attribute of a missing queue or address, or AMQ229017). */
export function isMissingResource(error: unknown): boolean {
  return error instanceof ManagementRefusal && /Problem while retrieving attribute|AMQ229017/.test(error.message);
}

/** A request/reply channel to Artemis' management address on one connection. */
interface Channel {
  readonly live: LiveConnection;
  readonly sender: Sender;
  readonly receiver: Receiver;
  readonly replyTo: string;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Artemis' management API over AMQP (its "management message API"): a request to
 * `activemq.management` names a resource (`queue.<name>`, `address.<name>`, `broker`) in
 * `_AMQ_ResourceName` and an attribute (`_AMQ_Attribute`) or an operation (`_AMQ_OperationName`,
 * its parameters a JSON array in the body); the reply, sent to a temporary (dynamic) queue of this
 * connection, says `_AMQ_OperationSucceeded` and carries the result as a JSON array. The broker
 * user needs the `manage` permission. Used by inspect() and deleteGroup() only.
 */
export class Management {
  private channel: Promise<Channel> | undefined;
  private readonly pending = new Map<string, Pending>();
  private counter = 0;

  constructor(
    private readonly connection: ConnectionManager,
    private readonly timeoutMs: number,
    private readonly scrub: Scrubber,
  ) {
    connection.listen({
      opened: () => undefined,
      lost: () => {
        this.channel = undefined;
        this.failAll(new ConnectionError('the connection to the broker was lost during a management request'));
      },
    });
  }

  attribute(resource: string, attribute: string): Promise<unknown> {
    return this.request({ _AMQ_ResourceName: resource, _AMQ_Attribute: attribute }, '[]');
  }

  operation(resource: string, operation: string, parameters: readonly unknown[]): Promise<unknown> {
    return this.request({ _AMQ_ResourceName: resource, _AMQ_OperationName: operation }, JSON.stringify(parameters));
  }

  private async request(properties: Record<string, string>, body: string): Promise<unknown> {
    await this.connection.connect();
    const channel = await this.open();
    const id = `omnibus-mgmt-${++this.counter}`;
    const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    const message: Message = { message_id: id, reply_to: channel.replyTo, application_properties: properties, body };
    channel.sender.send(message);
    try {
      return await withTimeout(reply, this.timeoutMs, () => new ConnectionError(`no answer from Artemis' management (${properties._AMQ_ResourceName}) within ${this.timeoutMs} ms`));
    } finally {
      this.pending.delete(id);
    }
  }

  private open(): Promise<Channel> {
    const live = this.connection.current();
    if (this.channel && live) {
      const current = this.channel;
      return current.then((channel) => (channel.live === live ? channel : this.reopen(live)));
    }
    return this.reopen(live);
  }

  private reopen(live: LiveConnection | undefined): Promise<Channel> {
    const opening = (async () => {
      const on = live ?? (await this.connection.waitOpen());
      const receiver = on.connection.open_receiver({ source: { address: '', dynamic: true }, credit_window: 10, autoaccept: true });
      const sender = on.connection.open_sender({ target: { address: MANAGEMENT_ADDRESS } });
      receiver.on('message', (context: EventContext) => this.reply(context.message));
      const attached = Promise.all([
        new Promise<string>((resolve, reject) => {
          receiver.once('receiver_open', () => resolve(String((receiver as unknown as { remote: { attach: { source: { address: string } } } }).remote.attach.source.address)));
          receiver.once('receiver_error', (context: EventContext) => reject(this.scrub.error(context.receiver?.error ?? 'refused')));
        }),
        new Promise<void>((resolve, reject) => {
          sender.once('sender_open', () => resolve());
          sender.once('sender_error', (context: EventContext) => reject(this.scrub.error(context.sender?.error ?? 'refused')));
        }),
      ]);
      const [replyTo] = await withTimeout(attached, this.timeoutMs, () => new ConnectionError(`Artemis' management address did not attach within ${this.timeoutMs} ms`));
      return { live: on, sender, receiver, replyTo };
    })();
    this.channel = opening;
    opening.catch(() => {
      if (this.channel === opening) this.channel = undefined;
    });
    return opening;
  }

  private reply(message: Message | undefined): void {
    if (!message) return;
    const key = message.correlation_id === undefined ? undefined : String(message.correlation_id);
    const pending = (key && this.pending.get(key)) || undefined;
    if (!pending) return;
    const succeeded = message.application_properties?._AMQ_OperationSucceeded === true;
    const text = typeof message.body === 'string' ? message.body : Buffer.isBuffer((message.body as { content?: unknown })?.content) ? String((message.body as { content: Buffer }).content) : String(message.body);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a plain text answer (an error message)
    }
    const result: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
    if (succeeded) pending.resolve(result);
    else pending.reject(new ManagementRefusal(this.scrub.text(typeof result === 'string' ? result : text)));
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  close(): void {
    this.failAll(new ConnectionError('the transport closed'));
    this.channel = undefined;
  }
}
