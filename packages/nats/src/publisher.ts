import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { errors, nuid, type MsgHdrs } from '@nats-io/transport-node';
import {
  backoffDelay,
  ConnectionError,
  exponentialBackoff,
  MessageTooLargeError,
  pause,
  PublishError,
  QueueFullError,
  isOmnibusError,
  type OutgoingMessage,
} from '@omnibus/core';
import { describeBound } from './bound.js';
import { DUE_HEADER, EXPECTED_STREAM, ID_HEADER, MSG_ID, encodeHeaders, encodeId, headerBlockBytes } from './codec.js';
import { errorText, isStreamFull } from './errors.js';
import type { Link } from './link.js';
import type { Naming } from './naming.js';
import type { NatsOptions } from './options.js';
import { SendWindow } from './send-window.js';
import type { Topology } from './topology.js';

/**
 * The `Nats-Msg-Id` a message carries (JetStream stores one message per id within the
 * stream's duplicate window) and what a PubAck saying `duplicate` means for it.
 */
export type Deduplication =
  /**
   * An id that names this message wherever it comes from: a user's `deduplicationId`,
   * or a delay-stream entry being moved. A duplicate is an earlier copy of the same
   * message, already stored: success.
   */
  | { readonly kind: 'repeatable'; readonly msgId: string }
  /**
   * An id made for this one send, for what core publishes on its own (dead letters,
   * retries, replays: they often carry an id the stream has seen). Only a retry of this
   * send can be a duplicate (its first attempt was stored); a duplicate on the first
   * attempt means the server would drop a message that must be kept: an error.
   */
  | { readonly kind: 'single'; readonly msgId: string };

/** One message as NATS sends it. */
export interface Envelope {
  readonly topic: string;
  readonly subject: string;
  readonly stream: string;
  readonly deduplication: Deduplication;
  /** The message's headers, with `Nats-Msg-Id` and `Nats-Expected-Stream` already set. */
  readonly headers: MsgHdrs;
  readonly body: Uint8Array;
  /** Makes the stream exist (again). */
  readonly ensure: () => Promise<void>;
}

/** Between attempts of one send: 50 ms doubling up to 2 s. */
const RETRY_BACKOFF = exponentialBackoff(50, 2_000);

/**
 * Publishes to JetStream and resolves on the PubAck, with at most `publishWindow`
 * messages awaiting their PubAck at once across all calls (see SendWindow). A send that
 * timed out is retried with the same `Nats-Msg-Id`, so it is stored once.
 */
export class Publisher {
  private readonly window: SendWindow;

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
    /** The server's max_payload (body + header block of one message). */
    private readonly maxPayload: () => number,
  ) {
    this.window = new SendWindow(options.publishWindow);
  }

  async publish(messages: readonly OutgoingMessage[]): Promise<void> {
    // Every envelope first: a message that cannot be sent fails the batch before anything is sent.
    const envelopes = messages.map((message, index) => this.envelope(message, messages.length > 1 ? index : undefined));
    if (messages.some((m) => (m.delayMs ?? 0) > 0)) {
      await this.onDelayed().catch((error: unknown) => {
        throw new PublishError(
          `cannot prepare delayed publishing (stream ${this.naming.delayStream}): ${errorText(error, this.secrets)}; nothing was sent, publish again once JetStream answers`,
          { cause: error },
        );
      });
    }
    const failures: { readonly message: OutgoingMessage; readonly error: unknown }[] = [];
    // Lanes of this call: each takes a place in the transport's window per message.
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
    const [first] = failures as [(typeof failures)[number]];
    // A refusal of our own (a topic that cannot be a subject, a stream name collision, a full topic) as it is.
    const firstError = first.error;
    if (failures.length === 1 && isOmnibusError(firstError) && firstError.code !== 'CONNECTION_FAILED') throw firstError;
    const topics = [...new Set(failures.map((f) => f.message.topic))];
    // Only full topics refused: the caller must see QUEUE_FULL ("try again later"), not a failure.
    if (failures.every((f) => isOmnibusError(f.error, 'QUEUE_FULL')) && topics.length === 1) {
      const detail = failures.length === messages.length ? `all ${messages.length} messages refused` : `${failures.length} of ${messages.length} messages refused, the others were stored`;
      throw new QueueFullError(first.message.topic, detail, { cause: first.error });
    }
    throw new PublishError(
      `NATS JetStream did not accept ${failures.length} of ${messages.length} message(s) (topic ${topics.join(', ')}): ${errorText(first.error, this.secrets)}`,
      { cause: first.error, topic: topics.length === 1 ? topics[0] : undefined },
    );
  }

  /** Send one envelope within the window, retrying timeouts and a missing stream with the same `Nats-Msg-Id`. */
  send(envelope: Envelope): Promise<PubAck> {
    return this.window.run(() => this.sendNow(envelope));
  }

  private async sendNow(envelope: Envelope): Promise<PubAck> {
    const link = this.link();
    const epoch = link.epoch;
    try {
      return await this.attempt(envelope);
    } catch (error) {
      if (isOmnibusError(error)) throw error;
      if (!link.connected || link.epoch !== epoch) {
        throw new ConnectionError(
          `the connection to NATS was lost while publishing to topic "${envelope.topic}" and not restored within ${this.options.publishRetries + 1} attempt(s) of publishTimeoutMs (${this.options.publishTimeoutMs} ms): ${errorText(error, this.secrets)}; the message may have been stored: publish it again once connected (a message with a deduplicationId is stored once within duplicateWindowMs)`,
          { cause: error },
        );
      }
      if (error instanceof errors.TimeoutError) {
        throw new PublishError(
          `no PubAck from NATS JetStream for topic "${envelope.topic}" within publishTimeoutMs (${this.options.publishTimeoutMs} ms), ${this.options.publishRetries + 1} attempt(s): the server is overloaded or the stream ${envelope.stream} has no leader; the message may have been stored: publish it again (a message with a deduplicationId is stored once within duplicateWindowMs), or raise publishTimeoutMs`,
          { cause: error, topic: envelope.topic },
        );
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
        const ack = await this.js().publish(envelope.subject, envelope.body, { headers: envelope.headers, timeout: publishTimeoutMs });
        if (ack.duplicate && envelope.deduplication.kind === 'single' && attempt === 0) {
          throw new PublishError(
            `NATS JetStream did not store a message to topic "${envelope.topic}": it reported it as a duplicate of Nats-Msg-Id "${envelope.deduplication.msgId}", an id the transport made for this publish alone (another producer on stream ${envelope.stream} reuses Omnibus' ids?); publish it again`,
            { topic: envelope.topic },
          );
        }
        return ack;
      } catch (error) {
        // A full stream refused it (nothing stored): the same stream answers the same at once, so never retried.
        if (isStreamFull(error)) throw this.queueFull(envelope, error);
        if (attempt >= publishRetries || !retryable(error)) throw error;
        // No stream listens on the subject any more (deleted, or lost with a memory-storage restart).
        // (nats.js reports "no responders" to a publish as JetStreamNotEnabled.)
        if (error instanceof Error && error.name === 'JetStreamNotEnabled') this.topology.forget(envelope.stream);
        await pause(backoffDelay(RETRY_BACKOFF, attempt + 1));
      }
    }
  }

  /** A refusal for lack of room, saying which limit: the topic's bound when declared, else the stream's own limits. */
  private queueFull(envelope: Envelope, error: unknown): QueueFullError {
    const bound = this.topology.boundOf(envelope.topic);
    const limit = bound && envelope.stream === this.naming.stream(envelope.topic) ? describeBound(bound) : 'its limits';
    return new QueueFullError(envelope.topic, `stream ${envelope.stream} holds ${limit}; JetStream: ${errorText(error, this.secrets)}`, { cause: error });
  }

  private envelope(message: OutgoingMessage, index: number | undefined): Envelope {
    const delayMs = message.delayMs ?? 0;
    const topic = message.topic;
    const delayed = delayMs > 0;
    // Names first: a topic that cannot be a stream or subject is a ConfigError, never a broker error.
    // (A delayed message is checked too: it will be moved to the topic's stream.)
    const topicStream = this.naming.stream(topic);
    const stream = delayed ? this.naming.delayStream : topicStream;
    const subject = delayed ? this.naming.delaySubject(topic) : this.naming.subject(topic);
    const headers = encodeHeaders(message);
    const id = encodeId(message.id);
    const deduplication: Deduplication =
      message.deduplicationId !== undefined ? { kind: 'repeatable', msgId: encodeId(message.deduplicationId) } : { kind: 'single', msgId: `omnibus-${nuid.next()}` };
    headers.append(MSG_ID, deduplication.msgId);
    // The id travels in Nats-Msg-Id when that is the id (see codec.ts), else in its own header.
    if (deduplication.msgId !== id) headers.append(ID_HEADER, id);
    if (delayed) headers.append(DUE_HEADER, String(Date.now() + delayMs));
    headers.append(EXPECTED_STREAM, stream);
    this.assertFits(topic, headers, message.body, index);
    return {
      topic,
      subject,
      stream,
      deduplication,
      headers,
      body: message.body,
      ensure: delayed ? () => this.topology.ensureDelayStream() : () => this.topology.ensureStream(topic),
    };
  }

  /** What the server would refuse (over max_payload, with the header block as NATS encodes it) is refused here, at once. */
  private assertFits(topic: string, headers: MsgHdrs, body: Uint8Array, index: number | undefined): void {
    const limit = this.maxPayload();
    const bytes = body.byteLength + headerBlockBytes(headers);
    if (bytes <= limit) return;
    throw new MessageTooLargeError({
      topic,
      bytes,
      limit,
      index,
      hint: ` (the server's max_payload; measured as NATS sends it: header block framed, values that are not plain ASCII base64-encoded, plus the transport's id and stream headers)`,
    });
  }
}

/** Worth another attempt with the same id: a timeout, a missing stream, JetStream busy. */
function retryable(error: unknown): boolean {
  if (error instanceof errors.ClosedConnectionError || error instanceof errors.InvalidArgumentError) return false;
  if (isOmnibusError(error)) return false;
  if (error instanceof JetStreamApiError) return error.status >= 500;
  return true;
}
