import { backoffDelay, exponentialBackoff } from '@omnibus/core';
import { kOptions, type Base, type BaseOptions, type SASLOptions } from '@platformatic/kafka';
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

/**
 * The connection options alone. @platformatic/kafka 1.22 has no request timeout of its own:
 * watchClient (platformatic-connection.ts) gives every request of a client one.
 */
export function connectionOptions(settings: PlatformaticClientSettings): Pick<BaseOptions, 'connectTimeout' | 'tls' | 'tlsServerName' | 'sasl'> {
  const options: Pick<BaseOptions, 'connectTimeout' | 'tls' | 'tlsServerName' | 'sasl'> = { connectTimeout: settings.brokerConnectTimeoutMs };
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
 * Options of an admin, producer or consumer: the transport's timeouts and its retries (their
 * exponential backoff: see backoffRetries, to be called on every client built from them).
 */
export function clientOptions(settings: PlatformaticClientSettings): BaseOptions {
  return {
    clientId: settings.clientId,
    bootstrapBrokers: [...settings.brokers],
    // The produce request's own timeout (how long the leader waits for the replicas).
    timeout: settings.requestTimeoutMs,
    retries: settings.retries,
    retryDelay: settings.retryInitialDelayMs,
    autocreateTopics: false,
    ...connectionOptions(settings),
  };
}

/**
 * Retries of `client` with exponential backoff (core's kit) from retryInitialDelayMs up to 10x,
 * as for kafkajs. @platformatic/kafka 1.22 takes only a fixed retryDelay (a function, as later
 * releases take, would be handed to setTimeout as the delay), read from the client's options
 * right after it announces a retry ('client:performWithRetry:retry', with the attempt, in the
 * same synchronous step): the option becomes a getter of the delay of the attempt announced last.
 */
export function backoffRetries(client: Base<BaseOptions>, settings: PlatformaticClientSettings): void {
  const backoff = exponentialBackoff(settings.retryInitialDelayMs, Math.max(1_000, settings.retryInitialDelayMs * 10));
  let delay = settings.retryInitialDelayMs;
  client.on('client:performWithRetry:retry', (_operation: string, attempt: number) => {
    // attempt: the one that failed, from 0; the delay before the first retry is backoff's first.
    delay = backoffDelay(backoff, attempt + 1);
  });
  Object.defineProperty(client[kOptions], 'retryDelay', { get: () => delay, enumerable: true, configurable: true });
}
