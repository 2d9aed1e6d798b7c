import { describe, expect, it } from 'vitest';
import { ConfigError, isOmnibusError, silentLogger } from '@omnibus/core';
import { resolveConfig } from '../src/config.js';
import { parseKafkaUrl } from '../src/url.js';
import { createTransport, kafkaCapabilities } from '../src/index.js';
import { recordingLogger } from '@omnibus/test-support';

// Option and URL handling needs no broker: these run everywhere.
describe('kafka options and URL', () => {
  it('reads a broker list, default ports and TLS from the URL', () => {
    expect(parseKafkaUrl('kafka://h1:9092,h2')).toEqual({ brokers: ['h1:9092', 'h2:9092'], ssl: false, sasl: undefined, secrets: [] });
    expect(parseKafkaUrl('kafkas://h1:9093').ssl).toBe(true);
  });

  it('turns URL credentials into SASL, PLAIN unless a mechanism is given', () => {
    expect(parseKafkaUrl('kafka://ann:p%40ss@h:9092').sasl).toEqual({ mechanism: 'plain', username: 'ann', password: 'p@ss' });
    expect(parseKafkaUrl('kafkas://ann:pw@h:9093?mechanism=scram-sha-512').sasl).toEqual({ mechanism: 'scram-sha-512', username: 'ann', password: 'pw' });
  });

  it('rejects a bad URL with a ConfigError on "url" that does not show the password', () => {
    const attempt = () => parseKafkaUrl('kafka://ann:hunter22@h:9092?mechanism=gssapi');
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).field).toBe('url');
      expect((error as Error).message).not.toContain('hunter22');
    }
  });

  it('names the bad option field', () => {
    expect(() => resolveConfig({ url: 'kafka://h:9092', options: { partitions: 0 } })).toThrow(expect.objectContaining({ field: 'options.partitions' }));
    expect(() => resolveConfig({ url: 'kafka://h:9092', options: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 6_000 } })).toThrow(
      expect.objectContaining({ field: 'options.heartbeatIntervalMs' }),
    );
    expect(() => resolveConfig({ url: 'kafka://h:9092', options: { nope: 1 } })).toThrow(ConfigError);
  });

  it('runs on @platformatic/kafka unless options.driver says kafkajs; another name is a ConfigError naming options.driver', () => {
    expect(resolveConfig({ url: 'kafka://h:9092', options: {} }).driver).toBe('platformatic');
    expect(resolveConfig({ url: 'kafka://h:9092', options: { driver: 'kafkajs' } }).driver).toBe('kafkajs');
    expect(() => resolveConfig({ url: 'kafka://h:9092', options: { driver: 'rdkafka' } })).toThrow(expect.objectContaining({ field: 'options.driver' }));
  });

  it('takes brokerConnectTimeoutMs, or its deprecated name connectionTimeoutMs, but not both', () => {
    expect(resolveConfig({ url: 'kafka://h:9092', options: {} }).brokerConnectTimeoutMs).toBe(3_000);
    expect(resolveConfig({ url: 'kafka://h:9092', options: { brokerConnectTimeoutMs: 700 } }).brokerConnectTimeoutMs).toBe(700);
    const legacy = resolveConfig({ url: 'kafka://h:9092', options: { connectionTimeoutMs: 800 } });
    expect(legacy.brokerConnectTimeoutMs).toBe(800);
    expect(legacy).not.toHaveProperty('connectionTimeoutMs');
    expect(() => resolveConfig({ url: 'kafka://h:9092', options: { connectionTimeoutMs: 800, brokerConnectTimeoutMs: 700 } })).toThrow(
      expect.objectContaining({ field: 'options.connectionTimeoutMs', message: expect.stringContaining('set only brokerConnectTimeoutMs') }),
    );
  });

  it('never echoes a SASL password from options', () => {
    try {
      resolveConfig({ url: 'kafka://h:9092', options: { sasl: { mechanism: 'oauth', username: 'u', password: 'topsecret' } } });
      expect.unreachable();
    } catch (error) {
      expect(isOmnibusError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).not.toContain('topsecret');
    }
  });

  it('lets options override the URL', () => {
    const config = resolveConfig({ url: 'kafka://u:pw@h:9092', options: { brokers: ['a:1', 'b:2'], sasl: { mechanism: 'scram-sha-256', username: 'x', password: 'y' } } });
    expect(config.brokers).toEqual(['a:1', 'b:2']);
    expect(config.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'x', password: 'y' });
    // The URL's password is still a secret: it must not show up in an error either.
    expect(config.secrets).toEqual(['pw', 'y']);
  });

  it('declares its capabilities and honours maxMessageBytes', () => {
    const transport = createTransport({ url: 'kafka://127.0.0.1:9092', options: { maxMessageBytes: 2_000_000 }, logger: silentLogger });
    expect(transport.name).toBe('kafka');
    expect(transport.capabilities).toEqual({ ...kafkaCapabilities, maxMessageBytes: 2_000_000 });
  });

  it('refuses an oversized message before sending anything, and any use after close', async () => {
    const transport = createTransport({ url: 'kafka://127.0.0.1:1', options: { maxMessageBytes: 2_048 }, logger: silentLogger });
    const big = { id: 'big', topic: 't', key: undefined, headers: {}, body: new Uint8Array(4_096) };
    await expect(transport.publish([big])).rejects.toMatchObject({ code: 'PUBLISH_FAILED', topic: 't' });
    await transport.close();
    await expect(transport.publish([{ ...big, body: new Uint8Array(1) }])).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(transport.connect()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('fails to connect with a ConnectionError that hides the password', async () => {
    const logger = recordingLogger();
    // Port 1: nothing listens there.
    const transport = createTransport({ url: 'kafka://ann:hunter22@127.0.0.1:1', options: { connectTimeoutMs: 3_000, retries: 0, brokerConnectTimeoutMs: 300 }, logger });
    const error = await transport.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isOmnibusError(error, 'CONNECTION_FAILED')).toBe(true);
    expect(String((error as Error).message)).not.toContain('hunter22');
    expect(JSON.stringify(logger.entries)).not.toContain('hunter22');
    await transport.close();
  });
});
