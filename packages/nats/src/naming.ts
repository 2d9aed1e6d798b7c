import { ConfigError } from '@omnibus/core';

/**
 * Where topics live in JetStream: one stream per topic, named
 * `<streamPrefix>_<topic with "." as "_">` and capturing the single subject
 * `<subjectPrefix>.<topic>`; a group is a durable consumer of that stream named
 * like the group (core forbids dots in group names for this reason).
 *
 * The stream name mapping is not injective (`a.b` and `a_b` both give `…_a_b`):
 * a stream found with another subject is reported as a collision, never shared.
 *
 * Delayed messages wait in one stream per prefix, `<streamPrefix>__DELAYED`, under
 * `<subjectPrefix>._delayed.<topic>`. Topic names start with a letter or digit, so
 * neither name can clash with a topic's.
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

  stream(topic: string): string {
    return `${this.streamPrefix}_${topic.replace(/\./g, '_')}`;
  }

  /** The topic of a subject of this prefix, or undefined. */
  topicOf(subject: string): string | undefined {
    const head = `${this.subjectPrefix}.`;
    return subject.startsWith(head) ? subject.slice(head.length) : undefined;
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

/** Core allows `a..b` or `a.` as topic names; as NATS subjects they would have empty tokens. */
function assertSubjectTokens(topic: string): void {
  if (topic.split('.').some((token) => token.length === 0)) {
    throw new ConfigError('topic', `"${topic}" cannot be a NATS subject: it has an empty token (leading, trailing or doubled ".")`);
  }
}
