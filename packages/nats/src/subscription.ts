import type { Delivery, DeliveryMetadata, Logger, NackOptions, SubscribeParams, TransportMessage, TransportSubscription } from '@omnibus/core';
import { decodeMessage } from './codec.js';
import type { Link } from './link.js';
import type { Naming } from './naming.js';
import type { NatsOptions } from './options.js';
import { PullWorker } from './pull-worker.js';
import type { Received } from './received.js';
import type { Topology } from './topology.js';

/**
 * One delivery: ack is `+ACK`, nack is `-NAK` with the delay (JetStream redelivers
 * the stored message itself, so `nack({ headers })` cannot change it: the transport
 * declares `redeliveryHeaders: false`). The attempt is the server's delivery count.
 */
class NatsDelivery implements Delivery {
  private facts: DeliveryMetadata | undefined;

  constructor(
    readonly message: TransportMessage,
    private readonly received: Received,
    private readonly stream: string,
    private readonly consumer: string,
  ) {}

  get attempt(): number {
    return this.received.deliveryCount;
  }

  /** What the ack subject says of this delivery (see README "Delivery metadata"); built on first read. */
  get metadata(): DeliveryMetadata {
    this.facts ??= deliveryMetadata(this.received, this.stream, this.consumer);
    return this.facts;
  }

  ack(): Promise<void> {
    return this.received.ack();
  }

  nack(options: NackOptions = {}): Promise<void> {
    return this.received.nak(options.delayMs ?? 0);
  }
}

function deliveryMetadata(received: Received, stream: string, consumer: string): DeliveryMetadata {
  return {
    offset: String(received.streamSequence),
    deliveryTag: String(received.consumerSequence),
    stream,
    consumer,
    deliveredCount: received.deliveryCount,
    pending: received.pending,
    storedAt: storedAtIso(received.storedAt),
  };
}

/** The ack subject's nanoseconds since the epoch as an ISO time (undefined if it holds none). */
function storedAtIso(nanos: string): string | undefined {
  if (!/^\d{1,25}$/.test(nanos) || nanos === '0') return undefined;
  return new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();
}

export interface SubscriptionContext {
  readonly link: Link;
  readonly naming: Naming;
  readonly topology: Topology;
  readonly options: NatsOptions;
  readonly secrets: readonly string[];
  readonly logger: Logger;
}

/** A running subscription: a pull worker on the group's durable consumer. */
export class NatsSubscription implements TransportSubscription {
  private readonly worker: PullWorker;
  private closing: Promise<void> | undefined;

  constructor(
    context: SubscriptionContext,
    private readonly params: SubscribeParams,
    private readonly onClosed: (subscription: NatsSubscription) => void,
  ) {
    const { naming, topology, options } = context;
    const stream = naming.stream(params.topic);
    this.worker = new PullWorker({
      link: context.link,
      stream,
      consumer: params.group,
      concurrency: params.concurrency,
      expiresMs: options.pullExpiresMs,
      ackWaitMs: options.ackWaitMs,
      requestTimeoutMs: options.requestTimeoutMs,
      secrets: context.secrets,
      logger: context.logger,
      onMessage: (received) => {
        const message = decodeMessage(params.topic, received.msg.headers, received.msg.data, `${stream}:${received.streamSequence}`);
        params.onDelivery(new NatsDelivery(message, received, stream, params.group));
      },
      onError: params.onError,
      recover: async () => {
        topology.forget(stream);
        await topology.ensureGroup(params.topic, params.group, params.concurrency);
      },
    });
  }

  /** Does this subscription read `group` of `topic`? */
  reads(topic: string, group: string): boolean {
    return this.params.topic === topic && this.params.group === group;
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
  }

  close(): Promise<void> {
    this.closing ??= this.worker.close().finally(() => this.onClosed(this));
    return this.closing;
  }
}
