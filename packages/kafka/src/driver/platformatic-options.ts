import { backoffDelay, exponentialBackoff } from '@omnibus/core';
import type { BaseOptions, SASLOptions } from '@platformatic/kafka';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SaslOptions, SslOptions } from '../options.js';

/** What every @platformatic/kafka client of a transport is built from. */
export interface PlatformaticClientSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: SslOptions | undefined;
  readonly sasl: SaslOptions | undefined;
  readonly brokerConnectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly retries: number;
  readonly retryInitialDelayMs: number;
}

const MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** The connection options alone (a fetch pool of our own takes them too). */
export function connectionOptions(settings: PlatformaticClientSettings): Pick<BaseOptions, 'connectTimeout' | 'requestTimeout' | 'tls' | 'tlsServerName' | 'sasl'> {
  const options: Pick<BaseOptions, 'connectTimeout' | 'requestTimeout' | 'tls' | 'tlsServerName' | 'sasl'> = {
    connectTimeout: settings.brokerConnectTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
  };
  if (settings.ssl !== undefined && settings.ssl !== false) {
    const tls: TlsOptions = settings.ssl === true ? {} : { ...settings.ssl };
    options.tls = tls;
    // SNI: the name the options give, else each broker's host name; never an IP address (as the kafkajs driver does).
    const named = typeof settings.ssl === 'object' ? settings.ssl.servername : undefined;
    options.tlsServerName = named ?? !settings.brokers.some((broker) => isIP(broker.slice(0, broker.lastIndexOf(':'))) !== 0);
  }
  if (settings.sasl) {
    const sasl: SASLOptions = { mechanism: MECHANISMS[settings.sasl.mechanism], username: settings.sasl.username, password: settings.sasl.password };
    options.sasl = sasl;
  }
  return options;
}

/**
 * Options of an admin, producer or consumer: the transport's timeouts, and its retries with
 * exponential backoff (core's kit) from retryInitialDelayMs up to 10x, as for kafkajs.
 */
export function clientOptions(settings: PlatformaticClientSettings): BaseOptions {
  const backoff = exponentialBackoff(settings.retryInitialDelayMs, Math.max(1_000, settings.retryInitialDelayMs * 10));
  return {
    clientId: settings.clientId,
    bootstrapBrokers: [...settings.brokers],
    // The produce request's own timeout (how long the leader waits for the replicas).
    timeout: settings.requestTimeoutMs,
    retries: settings.retries,
    retryDelay: (_client, _operation, attempt) => backoffDelay(backoff, attempt),
    autocreateTopics: false,
    ...connectionOptions(settings),
  };
}
