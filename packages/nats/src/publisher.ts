import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { errors, type MsgHdrs } from '@nats-io/transport-node';
import { ConnectionError, PublishError, isOmnibusError, type OutgoingMessage } from '@omnibus/core';
import { DUE_HEADER, EXPECTED_STREAM, MSG_ID, encodeHeaders, encodeId } from './codec.js';
import { errorText } from './errors.js';
import type { Link } from './link.js';
import type { Naming } from './naming.js';
import type { NatsOptions } from './options.js';
import type { Topology } from './topology.js';

/** One message as NATS sends it. */
export interface Envelope {
  readonly subject: string;
  readonly stream: string;
  readonly msgId: string;
  /** The message's headers, with `Nats-Msg-Id` and `Nats-Expected-Stream` already set. */
  readonly headers: MsgHdrs;
  readonly body: Uint8Array;
  /** Makes the stream exist (again). */
  readonly ensure: () => Promise<void>;
}

/**
 * Publishes to JetStream and resolves on the PubAck. Each message carries its
 * Omnibus id as `Nats-Msg-Id`, so a publish retried after a timeout (the first
 * attempt may have been stored) is stored once within the stream's duplicate window.
 */
export class Publisher {
  constructor(
    private readonly js: () => JetStreamClient,
    private readonly naming: Naming,
    private readonly topology: Topology,
    private readonly options: NatsOptions,
    private readonly secrets: readonly string[],
    /** Called before the first delayed message is sent (starts the mover). */
    private readonly onDelayed: () => Promise<void>,
    /** The connection's state, to tell a lost connection from a refusal. */
    private readonly link: () => Link,
  ) {}

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    const envelopes = messages.map((message) => this.envelope(message));
    if (messages.some((m) => (m.delayMs ?? 0) > 0)) {
      await this.onDelayed().catch((error: unknown) => {
        throw new PublishError(`cannot prepare delayed publishing (stream ${this.naming.delayStream}): ${errorText(error, this.secrets)}`, { cause: error });
      });
    }
    const failures: { readonly message: OutgoingMessage; readonly error: unknown }[] = [];
    // A window of publishes in flight: fast, without flooding the server with a huge batch.
    let next = 0;
    const lane = async () => {
      while (next < envelopes.length) {
        const index = next;
        next += 1;
        try {
          await this.send(envelopes[index] as Envelope);
        } catch (error) {
          failures.push({ message: messages[index] as OutgoingMessage, error });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.publishWindow, envelopes.length) }, lane));
    if (failures.length === 0) return;
    const [first] = failures;
    // A refusal of our own (a topic that cannot be a subject, a stream name collision) as it is.
    if (failures.length === 1 && isOmnibusError(first?.error) && !isOmnibusError(first.error, 'CONNECTION_FAILED')) throw first.error;
    const topics = [...new Set(failures.map((f) => f.message.topic))];
    throw new PublishError(
      `NATS JetStream did not accept ${failures.length} of ${messages.length} message(s) (topic ${topics.join(', ')}): ${errorText(first?.error, this.secrets)}`,
      { cause: first?.error, topic: topics.length === 1 ? topics[0] : undefined },
    );
  }

  /** Send one envelope, retrying timeouts and a missing stream with the same message id. */
  async send(envelope: Envelope): Promise<PubAck> {
    const link = this.link();
    const epoch = link.epoch;
    try {
      return await this.attempt(envelope);
    } catch (error) {
      // Failed while the connection was down (or went down meanwhile): say so, with the client's error as cause.
      if (!isOmnibusError(error) && (!link.connected || link.epoch !== epoch)) {
        throw new ConnectionError(`the connection to NATS was lost and not restored in time: ${errorText(error, this.secrets)}`, { cause: error });
      }
      throw error;
    }
  }

  private async attempt(envelope: Envelope): Promise<PubAck> {
    const { publishRetries, publishTimeoutMs } = this.options;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await envelope.ensure();
        // `Nats-Msg-Id` and `Nats-Expected-Stream` are in the headers already (as nats.js'
        // `msgID` and `expect.streamName` would put them, without its per-publish set()s).
        return await this.js().publish(envelope.subject, envelope.body, { headers: envelope.headers, timeout: publishTimeoutMs });
      } catch (error) {
        if (attempt >= publishRetries || !retryable(error)) throw error;
        // No stream listens on the subject any more (deleted, or lost with a memory-storage restart).
        // (nats.js reports "no responders" to a publish as JetStreamNotEnabled.)
        if (error instanceof Error && error.name === 'JetStreamNotEnabled') this.topology.forget(envelope.stream);
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 50 * 2 ** attempt)));
      }
    }
  }

  private envelope(message: OutgoingMessage): Envelope {
    const delayMs = message.delayMs ?? 0;
    const headers = encodeHeaders(message);
    const msgId = encodeId(message.id);
    headers.append(MSG_ID, msgId);
    if (delayMs > 0) {
      headers.append(DUE_HEADER, String(Date.now() + delayMs));
      headers.append(EXPECTED_STREAM, this.naming.delayStream);
      return {
        subject: this.naming.delaySubject(message.topic),
        stream: this.naming.delayStream,
        msgId,
        headers,
        body: message.body,
        ensure: () => this.topology.ensureDelayStream(),
      };
    }
    const topic = message.topic;
    const stream = this.naming.stream(topic);
    headers.append(EXPECTED_STREAM, stream);
    return {
      subject: this.naming.subject(topic),
      stream,
      msgId,
      headers,
      body: message.body,
      ensure: () => this.topology.ensureStream(topic),
    };
  }
}

/** Worth another attempt with the same id: a timeout, a missing stream, JetStream busy. */
function retryable(error: unknown): boolean {
  if (error instanceof errors.ClosedConnectionError || error instanceof errors.InvalidArgumentError) return false;
  if (isOmnibusError(error)) return false;
  if (error instanceof JetStreamApiError) return error.status >= 500;
  return true;
}
