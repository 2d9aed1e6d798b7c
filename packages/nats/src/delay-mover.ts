import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Logger } from '@omnibus/core';
import { DUE_HEADER, EXPECTED_STREAM, MSG_ID } from './codec.js';
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
 * restarts); a due one is published to its topic with its original id (so a move
 * repeated after a crash is deduplicated) and then acked.
 */
export class DelayMover {
  private worker: PullWorker | undefined;
  private starting: Promise<void> | undefined;

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
    this.starting ??= this.topology.ensureDelayMover().then(
      () => {
        if (this.worker) return;
        this.worker = new PullWorker({
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
        this.worker.start();
      },
      (error: unknown) => {
        this.starting = undefined;
        throw error;
      },
    );
    return this.starting;
  }

  async close(): Promise<void> {
    await this.worker?.close();
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
    const headers = natsHeaders();
    for (const key of msg.headers?.keys() ?? []) {
      if (key === DUE_HEADER || key === MSG_ID || key === EXPECTED_STREAM) continue;
      for (const value of msg.headers?.values(key) ?? []) headers.append(key, value);
    }
    const stream = this.naming.stream(topic);
    const msgId = msg.headers?.get(MSG_ID) || `${this.naming.delayStream}:${received.streamSequence}`;
    // The envelope's headers carry the id and the expected stream (see Envelope).
    headers.append(MSG_ID, msgId);
    headers.append(EXPECTED_STREAM, stream);
    try {
      await this.publisher.send({
        subject: this.naming.subject(topic),
        stream,
        msgId,
        headers,
        body,
        ensure: () => this.topology.ensureStream(topic),
      });
      await received.ack();
    } catch (error) {
      this.logger.warn({ topic, error: errorText(error, this.secrets) }, 'omnibus nats: moving a due delayed message failed; retrying');
      await received.nak(RETRY_MS);
    }
  }
}
