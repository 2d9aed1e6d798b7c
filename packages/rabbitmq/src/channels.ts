import { setMaxListeners } from 'node:events';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { Logger } from '@omnibus/core';
import type { Scrubber } from './errors.js';

/**
 * A channel and whether it is still open. Deliveries keep the handle of the channel that
 * delivered them: once `open` is false their ack/nack are no-ops (the broker already put
 * them back in the queue), and an ack is never sent on any other channel.
 */
export interface ChannelHandle<C extends Channel = Channel> {
  readonly channel: C;
  readonly model: ChannelModel;
  open: boolean;
  /**
   * Why the broker closed the channel (a scrubbed copy keeping the AMQP reply code), set as soon
   * as its channel.close arrives: before amqplib fails the unconfirmed publishes with a bare
   * "channel closed", so their callbacks can tell a refusal from a lost channel.
   */
  error: Error | undefined;
  /** Resolves when the channel is closed, by us, the broker or a lost connection. */
  readonly closed: Promise<Error | undefined>;
  /** Aborted when the channel closes (work tied to the channel can stop early). */
  readonly signal: AbortSignal;
}

/** Open a channel with the listeners every channel needs (an unhandled 'error' would crash the process). */
export async function openChannel(model: ChannelModel, confirm: true, scrub: Scrubber, logger: Logger, purpose: string): Promise<ChannelHandle<ConfirmChannel>>;
export async function openChannel(model: ChannelModel, confirm: false, scrub: Scrubber, logger: Logger, purpose: string): Promise<ChannelHandle>;
export async function openChannel(model: ChannelModel, confirm: boolean, scrub: Scrubber, logger: Logger, purpose: string): Promise<ChannelHandle> {
  const channel = confirm ? await model.createConfirmChannel() : await model.createChannel();
  let lastError: Error | undefined;
  let markClosed!: (error: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((resolve) => {
    markClosed = resolve;
  });
  const aborter = new AbortController();
  // Every retry republished for a delivery of this channel listens (and stops listening once
  // confirmed): up to prefetch listeners at once is expected, not a leak.
  setMaxListeners(0, aborter.signal);
  const handle: ChannelHandle = { channel, model, open: true, error: undefined, closed, signal: aborter.signal };
  channel.on('error', (cause: unknown) => {
    lastError = scrub.error(cause);
    handle.error = lastError;
    logger.debug({ err: lastError, purpose }, 'rabbitmq: channel error');
  });
  channel.on('close', () => {
    handle.open = false;
    markClosed(lastError);
    aborter.abort(lastError ?? new Error('channel closed'));
  });
  // A throwing listener of ours must not take the channel down with it.
  channel.on('handler-error', (cause: unknown, event: string) => {
    logger.error({ err: scrub.error(cause), event, purpose }, 'rabbitmq: channel listener failed');
  });
  return handle;
}

/** Close a channel, ignoring "already closed". */
export async function closeChannel(handle: ChannelHandle | undefined): Promise<void> {
  if (!handle?.open) return;
  handle.open = false;
  try {
    await handle.channel.close();
  } catch {
    // Closed meanwhile (connection lost, broker closed it): nothing left to release.
  }
}
