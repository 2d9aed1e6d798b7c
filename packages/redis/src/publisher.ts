import type { ChainableCommander } from 'ioredis';
import { ConnectionError, MessageTooLargeError, PublishError, QueueFullError, type OutgoingMessage } from '@omnibus/core';
import { refusalOf, type Refusal, type TopicBounds } from './bound.js';
import { encodeScheduled, entryFields, type FieldList } from './codec.js';
import type { ConnectionSettings } from './connection.js';
import { scheduledDelay } from './delay.js';
import type { Keys } from './keys.js';
import type { JobOutcome, PipelineCoalescer } from './publish-coalescer.js';
import { safeError, safeMessage } from './safe-error.js';
import type { PipelineScripts, ScriptedRedis } from './scripts.js';
import { largestArgumentOver, MAX_MESSAGE_BYTES, messageBytesOver } from './size.js';

export type PublishPipeline = ChainableCommander & PipelineScripts;

/** What a publish needs of the open connection. */
export interface PublishConnection {
  readonly client: ScriptedRedis;
  readonly scheduler: { poke(delayMs: number): void };
  readonly trimmer: { touch(topic: string): void };
  /** Publish calls of one tick share a pipeline (see publish-coalescer.ts). */
  readonly publishes: PipelineCoalescer<PublishPipeline>;
  /** The server's proto-max-bulk-len (its default when CONFIG GET is not allowed). */
  readonly argumentLimit: number;
}

/** One message of a publish: an XADD of its fields, or (delayed) a scheduled entry. */
type PublishCommand = { readonly delayMs: number; readonly fields: FieldList; readonly entry?: undefined } | { readonly delayMs: number; readonly entry: Buffer; readonly fields?: undefined };

/** A publish call whose messages passed the checks that need no connection. */
export interface CheckedPublish {
  readonly messages: readonly OutgoingMessage[];
  /** Headers serialised once, for the size check and the entry. */
  readonly headersJson: readonly string[];
  readonly delays: readonly number[];
  readonly streams: readonly string[];
}

/**
 * The publish path of the Redis transport: checks a call's messages, builds one XADD (or script)
 * per message, queues them on the tick's shared pipeline and settles the call on its own replies.
 */
export class RedisPublisher {
  constructor(
    private readonly keys: Keys,
    /** Bounded topics declared by core (declareTopic), applied by every publish to them. */
    private readonly bounds: TopicBounds,
    private readonly settings: ConnectionSettings,
  ) {}

  /** Everything that needs no connection is checked first: a bad message fails the call, none is stored. */
  check(messages: readonly OutgoingMessage[]): CheckedPublish {
    const headersJson = messages.map((message) => JSON.stringify(message.headers));
    const delays = messages.map((message, index) => scheduledDelay(message.delayMs, messages.length > 1 ? `messages[${index}].delayMs` : 'delayMs'));
    const streams = messages.map((message) => this.keys.topic(message.topic));
    for (let index = 0; index < messages.length; index += 1) {
      const message = messages[index] as OutgoingMessage;
      const bytes = messageBytesOver(message, headersJson[index] as string, MAX_MESSAGE_BYTES);
      if (bytes !== undefined) throw new MessageTooLargeError({ topic: message.topic, bytes, limit: MAX_MESSAGE_BYTES, index: messages.length > 1 ? index : undefined });
    }
    return { messages, headersJson, delays, streams };
  }

  /** Send a checked call; resolves when Redis stored every message. */
  send(connection: PublishConnection, checked: CheckedPublish): Promise<void> {
    const { client, scheduler, trimmer, argumentLimit, publishes } = connection;
    const { messages, headersJson, delays, streams } = checked;
    // The commands, built and measured against the server's proto-max-bulk-len before any is sent.
    const commands = messages.map((message, index) => {
      const fields = entryFields(message, undefined, headersJson[index]);
      const delayMs = delays[index] as number;
      const command: PublishCommand = delayMs > 0 ? { delayMs, entry: encodeScheduled(streams[index] as string, fields) } : { delayMs, fields };
      const largest = largestArgumentOver(command.entry ? [command.entry] : command.fields, argumentLimit);
      if (largest !== undefined) {
        throw new MessageTooLargeError({ topic: message.topic, bytes: largest, limit: argumentLimit, index: messages.length > 1 ? index : undefined, what: `the encoded entry of ${messages.length > 1 ? `message ${index} of the batch` : 'the message'}`, hint: " (this Redis's proto-max-bulk-len)" });
      }
      return command;
    });
    // One round trip for the batch, shared with the other publish calls of this tick (see
    // publish-coalescer.ts); each XADD (or script) replies on its own, and this call settles on its
    // own replies only.
    return new Promise<void>((resolve, reject) => {
      publishes.submit({
        commands: commands.length,
        add: (pipeline) => this.queueCommands(pipeline, messages, streams, commands),
        settle: (outcome) => {
          if (outcome.replies) {
            // Redis answered: what was scheduled is due soon, and the topics grew.
            let soonestDelay = Number.POSITIVE_INFINITY;
            for (const command of commands) if (command.entry) soonestDelay = Math.min(soonestDelay, command.delayMs);
            if (soonestDelay !== Number.POSITIVE_INFINITY) scheduler.poke(soonestDelay);
            for (const message of messages) trimmer.touch(message.topic);
          }
          try {
            this.settle(client, messages, commands, outcome);
            resolve();
          } catch (error) {
            reject(error);
          }
        },
      });
    });
  }

  /** The commands of one publish call, on the shared pipeline. */
  private queueCommands(pipeline: PublishPipeline, messages: readonly OutgoingMessage[], streams: readonly string[], commands: readonly PublishCommand[]): void {
    commands.forEach((command, index) => {
      const stream = streams[index] as string;
      const topic = (messages[index] as OutgoingMessage).topic;
      // Retries never come here (they go to a group's redelivery stream): a bound refuses user publishes only.
      const bound = this.bounds.of(topic);
      if (command.entry) {
        // A delayed publish is checked now against a reject bound, and stored when due whatever the topic holds then.
        if (bound?.overflow === 'reject') pipeline.omnibusBoundedSchedule(stream, this.keys.scheduled, bound.maxMessages, this.keys.retryPrefix(topic), command.delayMs, command.entry);
        else pipeline.omnibusSchedule(this.keys.scheduled, command.delayMs, command.entry);
      } else if (bound) {
        pipeline.omnibusBoundedAdd(stream, bound.overflow, bound.maxMessages, bound.overflow === 'reject' ? this.keys.retryPrefix(topic) : '', ...command.fields);
      } else {
        pipeline.xadd(stream, '*', ...command.fields);
      }
    });
  }

  /**
   * What one publish call's replies mean: returns when every message was stored, throws the
   * PublishError or QueueFullError of this call otherwise.
   */
  private settle(client: ScriptedRedis, messages: readonly OutgoingMessage[], commands: readonly PublishCommand[], outcome: JobOutcome): void {
    if (outcome.error !== undefined || !outcome.replies) {
      throw new PublishError(`publishing ${messages.length} message(s) to Redis failed: ${safeMessage(outcome.error, this.settings.secrets)}`, {
        topic: messages[0]?.topic,
        cause: unreachable(client, outcome.error, this.settings),
      });
    }
    const results = outcome.replies;
    if (results.length !== commands.length) {
      throw new PublishError(`publishing ${messages.length} message(s) to Redis failed: no reply`, { topic: messages[0]?.topic });
    }
    const failed = results.flatMap(([error], index) => (error ? [{ error, message: messages[index] as OutgoingMessage }] : []));
    const first = failed[0];
    if (first) {
      throw new PublishError(
        `Redis refused ${failed.length} of ${messages.length} message(s) (the others were accepted), first ${first.message.id} to "${first.message.topic}": ${safeMessage(first.error, this.settings.secrets)}`,
        { topic: first.message.topic, cause: unreachable(client, first.error, this.settings) },
      );
    }
    // Refused for lack of room: a QueueFullError, final (never retried here: room comes only from consumers).
    const refused = results.flatMap(([, reply], index) => {
      const refusal = refusalOf(reply);
      return refusal ? [{ refusal, message: messages[index] as OutgoingMessage }] : [];
    });
    const firstRefused = refused[0];
    if (firstRefused) {
      const { message } = firstRefused;
      const detail = describeRefusal(this.bounds.of(message.topic)?.maxMessages, firstRefused.refusal);
      const which = messages.length > 1 ? `${refused.length} of ${messages.length} message(s) refused, the others stored; first ${message.id}: ` : '';
      throw new QueueFullError(message.topic, `${which}${detail}`);
    }
  }
}

/**
 * The cause of a failed command, scrubbed: wrapped in a ConnectionError when the client is not
 * connected (a timeout then means "unreachable").
 */
export function unreachable(client: { status: string }, error: unknown, settings: Pick<ConnectionSettings, 'secrets' | 'display'>): Error {
  const cause = safeError(error, settings.secrets);
  if (client.status === 'ready') return cause;
  return new ConnectionError(`Redis at ${settings.display} is unreachable (client ${client.status})`, { cause });
}

function describeRefusal(maxMessages: number | undefined, refusal: Refusal): string {
  return `at most ${maxMessages ?? '?'} messages waiting for a group; group "${refusal.group}" has ${refusal.waiting}`;
}
