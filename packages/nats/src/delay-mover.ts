import { headers as natsHeaders } from '@nats-io/transport-node';
import { isOmnibusError, type Logger } from '@omnibus/core';
import { DUE_HEADER, EXPECTED_STREAM, ID_HEADER, MSG_ID } from './codec.js';
import { errorText } from './errors.js';
import type { Link } from './link.js';
import { DELAY_MOVER, type Naming } from './naming.js';
import type { NatsOptions } from './options.js';
import type { Publisher } from './publisher.js';
import { PullWorker } from './pull-worker.js';
import type { Received } from './received.js';
import type { Topology } from './topology.js';

/** Messages the mover handles at once (each is a nak or a publish + ack: short). */
const MOVER_CONCURRENCY = 64;
/** After a failed move, try again this much later. */
const RETRY_MS = 1_000;

/**
 * Delayed publish, emulated (nats-server 2.9 cannot schedule messages).
 *
 * A delayed message is stored in the delay stream (file storage like the topics, a
 * work queue) with its due time in a header. Every transport that subscribed or
 * published a delayed message runs a mover on the shared durable consumer of that
 * stream (competing, so each message is moved once): a message not due yet is
 * nak'ed with the remaining time (the server redelivers it then, and keeps it across
 * restarts); a due one is published to its topic (with a `Nats-Msg-Id` of its delay-stream
 * entry, so a move repeated after a crash is deduplicated and nothing else is) and then acked.
 * A move refused by a full bounded topic is nak'ed and tried again: the message is never acked
 * before its topic's stream stored it, so a full topic delays it and never loses it.
 */
/** Where the mover is: `closed` is for good (a start() still in flight must not create a worker then). */
type MoverState = { readonly kind: 'idle' } | { readonly kind: 'running'; readonly worker: PullWorker } | { readonly kind: 'closed' };

export class DelayMover {
  private state: MoverState = { kind: 'idle' };
  private starting: Promise<void> | undefined;
  /**
   * Topics whose stream refused a move for lack of room (a `reject` bound), logged once until a
   * move to them succeeds: a full topic is a normal state, its due messages retried every second.
   */
  private readonly fullTopics = new Set<string>();

  constructor(
    private readonly link: () => Link,
    private readonly naming: Naming,
    private readonly topology: Topology,
    private readonly publisher: Publisher,
    private readonly options: NatsOptions,
    private readonly secrets: readonly string[],
    private readonly logger: Logger,
  ) {}

  /** Create the delay stream and consumer if missing and start moving. Idempotent. */
  start(): Promise<void> {
    if (this.state.kind === 'closed') return Promise.resolve();
    this.starting ??= this.topology.ensureDelayMover().then(
      () => {
        // Closed meanwhile: a worker started now would pull on a closed connection, unstopped.
        if (this.state.kind !== 'idle') return;
        const worker = new PullWorker({
          link: this.link(),
          stream: this.naming.delayStream,
          consumer: DELAY_MOVER,
          concurrency: MOVER_CONCURRENCY,
          expiresMs: this.options.pullExpiresMs,
          ackWaitMs: this.options.ackWaitMs,
          requestTimeoutMs: this.options.requestTimeoutMs,
          secrets: this.secrets,
          logger: this.logger,
          onMessage: (received) =>
            void this.move(received).catch((error: unknown) => this.logger.warn({ error: errorText(error, this.secrets) }, 'omnibus nats: delayed message mover')),
          onError: (error) => this.logger.warn({ error: error.message }, 'omnibus nats: delayed message mover'),
          recover: async () => {
            this.topology.forget(this.naming.delayStream);
            await this.topology.ensureDelayMover();
          },
        });
        this.state = { kind: 'running', worker };
        worker.start();
      },
      (error: unknown) => {
        this.starting = undefined;
        throw error;
      },
    );
    return this.starting;
  }

  async close(): Promise<void> {
    const state = this.state;
    this.state = { kind: 'closed' };
    if (state.kind === 'running') await state.worker.close();
  }

  private async move(received: Received): Promise<void> {
    const { msg } = received;
    // Copied now: the client may reuse its read buffer once this callback returns.
    const body = msg.data.slice();
    const due = Number(msg.headers?.get(DUE_HEADER));
    const wait = Number.isFinite(due) ? due - Date.now() : 0;
    if (wait > 0) {
      await received.nak(wait);
      return;
    }
    const topic = this.naming.topicOfDelayed(msg.subject);
    if (topic === undefined) {
      this.logger.warn({ subject: msg.subject }, 'omnibus nats: dropping a message of the delay stream that names no topic');
      await received.ack();
      return;
    }
    try {
      const headers = natsHeaders();
      for (const key of msg.headers?.keys() ?? []) {
        if (key === DUE_HEADER || key === MSG_ID || key === EXPECTED_STREAM) continue;
        for (const value of msg.headers?.values(key) ?? []) headers.append(key, value);
      }
      const stream = this.naming.stream(topic);
      // The publisher's Nats-Msg-Id deduplicated its own retries into the delay stream. In the
      // topic's stream, the move must never be taken for a duplicate of something else (the same
      // user id published at once too, an earlier delay of the same message, a dead letter): its
      // id is this delay-stream entry's, so only a repeated move of this entry (after a crash
      // between publish and ack) is deduplicated.
      const entryId = `omnibus-delayed.${this.naming.delayStream}.${received.streamSequence}.${received.storedAt}`;
      headers.append(MSG_ID, entryId);
      // The message id travelled in Nats-Msg-Id when it was the deduplication id (see codec.ts).
      const msgId = msg.headers?.get(MSG_ID);
      if (!msg.headers?.has(ID_HEADER) && msgId) headers.append(ID_HEADER, msgId);
      headers.append(EXPECTED_STREAM, stream);
      await this.publisher.send({
        topic,
        subject: this.naming.subject(topic),
        stream,
        deduplication: { kind: 'repeatable', msgId: entryId },
        headers,
        body,
        ensure: () => this.topology.ensureStream(topic),
      });
      await received.ack();
      this.fullTopics.delete(topic);
    } catch (error) {
      // A full bounded topic: the message stays in the delay stream (never acked) until there is room.
      if (isOmnibusError(error, 'QUEUE_FULL')) {
        if (!this.fullTopics.has(topic)) this.logger.warn({ topic }, 'omnibus nats: due delayed messages wait in the delay stream for room in their full bounded topic');
        this.fullTopics.add(topic);
        await received.nak(RETRY_MS);
        return;
      }
      this.logger.warn({ topic, error: errorText(error, this.secrets) }, 'omnibus nats: moving a due delayed message failed; retrying');
      await received.nak(RETRY_MS);
    }
  }
}
