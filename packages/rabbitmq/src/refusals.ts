import { replyCode } from './errors.js';

/**
 * A publish the broker refused by closing the channel: RabbitMQ answers a message it will never
 * take with channel.close, not basic.nack, and amqplib then fails every unconfirmed publish of
 * the channel alike ("channel closed"). The close reason names what was refused, so the one
 * publish it is about can fail at once, while the others on the channel are re-sent.
 */
export interface Refusal {
  /** The broker's reason, for the PublishError (already scrubbed). */
  readonly reason: string;
  /** The broker's max_message_size, when that is what was exceeded. */
  readonly maxBodyBytes: number | undefined;
}

/** `PRECONDITION_FAILED - message size 1048677 is larger than configured max size 1048576` (RabbitMQ 3.8+). */
const TOO_LARGE = /message size (\d+) is larger than (?:configured )?max size (\d+)/;
/** `ACCESS_REFUSED - access to exchange 'x' in vhost '/' refused for user 'u'`. */
const ACCESS_REFUSED = /access to exchange '((?:[^']|'(?! in vhost))*)' in vhost/;

/**
 * The refusal `closeReason` states about a publish of `bodyBytes` to `exchange`, or undefined
 * when the channel closed for another reason (or about another publish): then it is re-sent.
 */
export function refusalOf(closeReason: Error | undefined, exchange: string, bodyBytes: number): Refusal | undefined {
  if (!closeReason) return undefined;
  const code = replyCode(closeReason);
  if (code === 406) {
    const tooLarge = TOO_LARGE.exec(closeReason.message);
    if (tooLarge && Number(tooLarge[1]) === bodyBytes) return { reason: closeReason.message, maxBodyBytes: Number(tooLarge[2]) };
    return undefined;
  }
  if (code === 403) {
    const refused = ACCESS_REFUSED.exec(closeReason.message);
    // The default exchange ('') is named amq.default in the broker's reason.
    if (refused && refused[1] === (exchange === '' ? 'amq.default' : exchange)) return { reason: closeReason.message, maxBodyBytes: undefined };
  }
  return undefined;
}

/** The broker's max_message_size if `closeReason` states it (whichever publish it was about). */
export function statedMaxBodyBytes(closeReason: Error | undefined): number | undefined {
  if (!closeReason || replyCode(closeReason) !== 406) return undefined;
  const tooLarge = TOO_LARGE.exec(closeReason.message);
  return tooLarge ? Number(tooLarge[2]) : undefined;
}
