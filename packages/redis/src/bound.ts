import { ConfigError, type TopicBound, type TopicSettings } from '@omnibus/core';

/** How a refused publish replies from the bounded scripts: {0, waiting, group}. */
export interface Refusal {
  readonly waiting: number;
  readonly group: string;
}

/**
 * The bounds declared on this transport (Transport.declareTopic), by topic name. Held per
 * transport, not in Redis: a bound is applied by each publish of a process whose topic
 * definition carries it (see README "Bounded topics").
 */
export class TopicBounds {
  private readonly bounds = new Map<string, TopicBound>();

  /** Remember a topic's bound (the latest declaration wins). Only counts are kept: maxBytes is refused. */
  declare(topic: string, settings: TopicSettings): void {
    const bound = settings.bound;
    if (!bound) {
      this.bounds.delete(topic);
      return;
    }
    if (bound.maxBytes !== undefined) {
      throw new ConfigError('bound.maxBytes', `the redis transport bounds topic "${topic}" by message count only (a stream does not count the bytes a group has not read): use maxMessages`);
    }
    if (bound.maxMessages === undefined) throw new ConfigError('bound.maxMessages', `topic "${topic}" needs maxMessages on the redis transport`);
    this.bounds.set(topic, bound);
  }

  /** The topic's bound as a message count, or undefined when unbounded. */
  of(topic: string): { readonly maxMessages: number; readonly overflow: TopicBound['overflow'] } | undefined {
    const bound = this.bounds.get(topic);
    if (bound?.maxMessages === undefined) return undefined;
    return { maxMessages: bound.maxMessages, overflow: bound.overflow };
  }
}

/** A bounded script's reply when it refused the message; undefined when it stored it. */
export function refusalOf(reply: unknown): Refusal | undefined {
  if (!Array.isArray(reply) || Number(reply[0]) !== 0) return undefined;
  return { waiting: Number(reply[1]), group: String(reply[2]) };
}
