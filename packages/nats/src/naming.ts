import { ConfigError } from '@omnibus/core';

/** nats-server refuses longer stream names ("stream name is too long, maximum allowed is 255"). */
export const MAX_STREAM_NAME_LENGTH = 255;

/**
 * Where topics live in JetStream, with no user name able to reach another's or an
 * internal one. Core allows topics `[A-Za-z0-9][A-Za-z0-9._-]*` and groups
 * `[A-Za-z0-9][A-Za-z0-9_-]*`.
 *
 * - A topic's stream is `<streamPrefix>_<topic folded>`, capturing the single subject
 *   `<subjectPrefix>.<topic>`. Stream names cannot hold `.`, so the fold replaces each
 *   `.` by `_` and each `_` by `~` (a character no topic has). Character by character
 *   with distinct images, so one stream name has one topic: `a.b` → `…_a_b`,
 *   `a_b` → `…_a~b`. (Folding both to `_` made those two one stream.)
 * - Delayed messages wait in `<streamPrefix>__DELAYED`, on `<subjectPrefix>._delayed.>`.
 *   A folded topic starts with a letter or digit, never with `_`, and no topic's first
 *   subject token starts with `_`: neither internal name is any topic's.
 * - A group is a durable consumer of its topic's stream, named like the group (valid as
 *   it is). The only internal consumer, `omnibus-delay-mover`, lives on the delay stream,
 *   where no group can be.
 */
export class Naming {
  constructor(
    readonly streamPrefix: string,
    readonly subjectPrefix: string,
  ) {}

  subject(topic: string): string {
    assertSubjectTokens(topic);
    return `${this.subjectPrefix}.${topic}`;
  }

  /** The topic's stream; a ConfigError naming `topic` when the name would be over the server's limit. */
  stream(topic: string): string {
    const name = `${this.streamPrefix}_${foldTopic(topic)}`;
    if (name.length > MAX_STREAM_NAME_LENGTH) {
      throw new ConfigError(
        'topic',
        `"${topic}" is too long for NATS: its stream name "<streamPrefix>_<topic>" would be ${name.length} characters, over the server's ${MAX_STREAM_NAME_LENGTH}; use a topic of at most ${MAX_STREAM_NAME_LENGTH - this.streamPrefix.length - 1} characters or a shorter options.streamPrefix`,
      );
    }
    return name;
  }

  get delayStream(): string {
    return `${this.streamPrefix}__DELAYED`;
  }

  get delayWildcard(): string {
    return `${this.subjectPrefix}._delayed.>`;
  }

  delaySubject(topic: string): string {
    assertSubjectTokens(topic);
    return `${this.subjectPrefix}._delayed.${topic}`;
  }

  /** The topic a delayed message is bound for, from its subject in the delay stream. */
  topicOfDelayed(subject: string): string | undefined {
    const head = `${this.subjectPrefix}._delayed.`;
    return subject.startsWith(head) ? subject.slice(head.length) : undefined;
  }
}

/** The durable consumer that moves due delayed messages to their topics (one per prefix, shared). */
export const DELAY_MOVER = 'omnibus-delay-mover';

/** `.` → `_`, `_` → `~`: injective, and valid in stream names (no `.`, `*`, `>`, `/`, `\`, whitespace). */
function foldTopic(topic: string): string {
  return topic.replace(/[._]/g, (char) => (char === '.' ? '_' : '~'));
}

/** Core allows `a..b` or `a.` as topic names; as NATS subjects they would have empty tokens. */
function assertSubjectTokens(topic: string): void {
  if (topic.split('.').some((token) => token.length === 0)) {
    throw new ConfigError('topic', `"${topic}" cannot be a NATS subject: it has an empty token (leading, trailing or doubled ".")`);
  }
}
