import { ConfigError, parseOptions, type TransportInit } from '@omnibus/core';
import { KafkaOptionsSchema, type KafkaOptions, type SaslOptions, type SslOptions } from './options.js';
import { parseKafkaUrl, secretForms } from './url.js';

/** URL and options merged: everything the transport needs to know about its cluster. */
export interface KafkaConfig extends KafkaOptions {
  readonly brokers: string[];
  readonly ssl: SslOptions | undefined;
  readonly sasl: SaslOptions | undefined;
  /** Strings that must never appear in an error or a log (passwords, keys). */
  readonly secrets: readonly string[];
}

/** Validate options (errors name `options.<field>`), parse the URL, and merge them (options win). */
export function resolveConfig(init: Pick<TransportInit, 'url' | 'options'>): KafkaConfig {
  const options = parseOptions(KafkaOptionsSchema, init.options ?? {}, 'options');
  const fromUrl = parseKafkaUrl(init.url);
  const brokers = options.brokers ?? [...fromUrl.brokers];
  if (brokers.length === 0) throw new ConfigError('url', 'no broker address: give kafka://host:port or options.brokers');
  const ssl = options.ssl ?? (fromUrl.ssl ? true : undefined);
  const sasl = options.sasl ?? fromUrl.sasl;
  // The URL's credentials stay secret even when options override them.
  const secrets = [
    ...new Set([...fromUrl.secrets, ...secretForms(sasl?.password ?? ''), ...[typeof ssl === 'object' ? ssl.key : undefined, typeof ssl === 'object' ? ssl.passphrase : undefined].filter((s): s is string => !!s)]),
  ];
  return { ...options, brokers, ssl, sasl, secrets };
}
