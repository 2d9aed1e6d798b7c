import { DeadLetterHeaders, deadLetterTopicName, EnvelopeHeaders, redactUrl } from '@omnibus/core';
import type { SchemaTopic } from '../topics-module.js';
import { topicAddress } from './addresses.js';
import { payloadSchema } from './payload-schema.js';
import { serverInfo } from './servers.js';

export interface AsyncApiInput {
  readonly topics: readonly SchemaTopic[];
  readonly title: string;
  readonly version: string;
  /** The broker URL for `servers` (shown redacted); none: a document without servers. */
  readonly url: string | undefined;
  /** Transport options that change broker names (`prefix`, `subjectPrefix`, `partitions`). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Told of each topic whose schema gave no JSON Schema (its payload is then `{}`). */
  readonly warn?: (message: string) => void;
}

type Json = Record<string, unknown>;

/** The CloudEvents binary-mode headers core writes on every message. */
const ENVELOPE_HEADERS: Json = {
  [EnvelopeHeaders.id]: { type: 'string', description: 'CloudEvents id: the message id' },
  [EnvelopeHeaders.source]: { type: 'string', description: 'CloudEvents source: the publishing bus' },
  [EnvelopeHeaders.type]: { type: 'string', description: 'CloudEvents type: the topic name' },
  [EnvelopeHeaders.time]: { type: 'string', format: 'date-time', description: 'CloudEvents time: when it was published' },
  [EnvelopeHeaders.specVersion]: { type: 'string', const: '1.0' },
  [EnvelopeHeaders.contentType]: { type: 'string', description: 'CloudEvents datacontenttype' },
};

const DEAD_LETTER_HEADERS: Json = {
  [DeadLetterHeaders.topic]: { type: 'string', description: 'the topic the message was published to' },
  [DeadLetterHeaders.group]: { type: 'string', description: 'the group that gave up on it' },
  [DeadLetterHeaders.attempts]: { type: 'string', description: 'attempts made (a number)' },
  [DeadLetterHeaders.reason]: { type: 'string', enum: ['max-attempts', 'non-retryable', 'explicit', 'undecodable', 'invalid'] },
  [DeadLetterHeaders.errorName]: { type: 'string' },
  [DeadLetterHeaders.errorMessage]: { type: 'string' },
  [DeadLetterHeaders.errorStack]: { type: 'string' },
  [DeadLetterHeaders.firstFailureAt]: { type: 'string', format: 'date-time' },
  [DeadLetterHeaders.lastFailureAt]: { type: 'string', format: 'date-time' },
};

/**
 * An AsyncAPI 3.0 document: a channel per topic and one per dead-letter topic, each message's
 * payload the JSON Schema of the topic's schema (its input: what travels on the wire; see
 * payload-schema.ts for where it comes from), a
 * send and a receive operation per topic, servers from the URL (without credentials) and the
 * channel bindings AsyncAPI defines for the broker (AMQP exchange, Kafka topic).
 */
export function asyncApiDocument(input: AsyncApiInput): Json {
  const server = input.url === undefined ? undefined : serverInfo(input.url);
  const protocol = server?.protocol;
  const ids = new ChannelIds();
  const channels: Json = {};
  const operations: Json = {};
  for (const topic of input.topics) {
    const { schema: payload, warning } = payloadSchema(topic.name, topic.schema);
    if (warning) input.warn?.(warning);
    for (const [name, deadLetter] of [
      [topic.name, false],
      [deadLetterTopicName(topic.name), true],
    ] as const) {
      const id = ids.of(name);
      const { address, bindings } = topicAddress(protocol, name, input.options, server?.pathname);
      const messageId = `${id}_message`;
      channels[id] = {
        address,
        title: name,
        description: deadLetter ? `Dead letters of ${topic.name}: messages a group gave up on, with the omnibus-dlq-* headers (read with the group "omnibus-dead-letter").` : `Topic ${topic.name}.`,
        messages: {
          [messageId]: {
            name: messageId,
            title: deadLetter ? `${topic.name} (dead letter)` : topic.name,
            contentType: topic.codec?.contentType ?? 'application/json',
            headers: { type: 'object', properties: deadLetter ? { ...ENVELOPE_HEADERS, ...DEAD_LETTER_HEADERS } : ENVELOPE_HEADERS, additionalProperties: { type: 'string' } },
            payload,
            ...(protocol === 'kafka' || protocol === 'kafka-secure' ? { bindings: { kafka: { key: { type: 'string' }, bindingVersion: '0.5.0' } } } : {}),
          },
        },
        ...(bindings ? { bindings } : {}),
        ...(server ? { servers: serverIds(server.hosts).map((sid) => ({ $ref: `#/servers/${sid}` })) } : {}),
      };
      const ref = { $ref: `#/channels/${id}` };
      const messages = [{ $ref: `#/channels/${id}/messages/${messageId}` }];
      if (!deadLetter) operations[`send_${id}`] = { action: 'send', channel: ref, messages, summary: `Publish to ${topic.name}.` };
      operations[`receive_${id}`] = { action: 'receive', channel: ref, messages, summary: deadLetter ? `Read the dead letters of ${topic.name}.` : `Consume ${topic.name} in a group.` };
    }
  }
  return {
    asyncapi: '3.0.0',
    info: { title: input.title, version: input.version, description: 'Generated by omnibus asyncapi from the topic definitions.' },
    defaultContentType: 'application/json',
    ...(server ? { servers: servers(input.url as string, server) } : {}),
    channels,
    operations,
  };
}

function servers(url: string, server: NonNullable<ReturnType<typeof serverInfo>>): Json {
  const out: Json = {};
  const ids = serverIds(server.hosts);
  server.hosts.forEach((host, index) => {
    out[ids[index] as string] = {
      host,
      protocol: server.protocol,
      ...(server.pathname ? { pathname: server.pathname } : {}),
      description: `From ${redactUrl(url).replace(/\/\/[^@/]*@/, '//')}`,
    };
  });
  return out;
}

const serverIds = (hosts: readonly string[]): string[] => hosts.map((_, index) => (hosts.length === 1 ? 'broker' : `broker${index + 1}`));

/** AsyncAPI ids are letters, digits, `_` and `-`: a dot becomes `_`, and a clash gets a number. */
class ChannelIds {
  private readonly used = new Map<string, string>();
  private readonly taken = new Set<string>();

  of(name: string): string {
    const known = this.used.get(name);
    if (known) return known;
    const base = name.replace(/[^A-Za-z0-9_-]/g, '_');
    let id = base;
    for (let n = 2; this.taken.has(id); n += 1) id = `${base}_${n}`;
    this.used.set(name, id);
    this.taken.add(id);
    return id;
  }
}
