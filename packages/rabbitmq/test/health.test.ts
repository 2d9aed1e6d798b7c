import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { brokerAddress, describeWithBroker, freePort, recordingLogger, TcpProxy, viaProxy, type RecordingLogger } from '@omnibus/test-support';
import type { Transport } from '@omnibus/core';
import { bytes, cleanupPrefix, deliveryLog, makeTransport, testPrefix, uniqueTopic } from './helpers.js';

// health() is local state with no event of its own: each step waits for the transport's log line
// that is written in the same amqplib event handler that moves the state, then reads health().
describeWithBroker('rabbitmq', 'rabbitmq health', (endpoint) => {
  const prefix = testPrefix('health');
  let proxy: TcpProxy;
  let transports: Transport[] = [];
  const open = (url: string, options: Record<string, unknown>, logger: RecordingLogger) => {
    const transport = makeTransport(url, { prefix, managementUrl: false, ...options }, logger);
    transports.push(transport);
    return transport;
  };

  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerAddress(endpoint.url, 5672));
  });
  afterEach(async () => {
    proxy.accept();
    await Promise.allSettled(transports.map((t) => t.close()));
    transports = [];
    await proxy.close();
  });
  afterAll(async () => {
    await cleanupPrefix(endpoint.url, prefix);
  });

  it('says connecting before connect(), connected after, reconnecting at once when the connection is cut, connected after recovery, closed after close()', async () => {
    const logger = recordingLogger();
    const created = Date.now();
    const transport = open(viaProxy(endpoint.url, proxy), { reconnect: { initialDelayMs: 20, maxDelayMs: 200 } }, logger);
    expect(transport.health!()).toMatchObject({ state: 'connecting', lastError: undefined });
    expect(transport.health!().since.getTime()).toBeGreaterThanOrEqual(created);
    const topic = uniqueTopic('outage');
    const log = deliveryLog();
    await transport.subscribe({ topic, group: 'g', concurrency: 1, onDelivery: log.onDelivery, onError: log.onError });
    const connected = transport.health!();
    expect(connected).toMatchObject({ state: 'connected', lastError: undefined });

    proxy.refuse();
    const cutAt = Date.now();
    expect(proxy.cutAll()).toBe(1); // one AMQP connection carries every channel
    await logger.waitFor(/connection lost, reconnecting/, 2_000);
    const down = transport.health!();
    const shownAfterMs = Date.now() - cutAt;
    expect(down.state).toBe('reconnecting');
    expect(down.since.getTime()).toBeGreaterThanOrEqual(cutAt);
    expect(down.lastError?.at.getTime()).toBeGreaterThanOrEqual(cutAt);
    // Reconnect attempts against a refusing proxy fail: the state stays, the last failure is reported.
    await logger.waitFor(/connection attempt failed/, 5_000);
    expect(transport.health!()).toMatchObject({ state: 'reconnecting', since: down.since });
    expect(transport.health!().lastError?.message).toMatch(/ECONNRESET|closed|socket/i);

    proxy.accept();
    const acceptedAt = Date.now();
    await logger.waitFor(/reconnected/, 5_000);
    const up = transport.health!();
    expect(up.state).toBe('connected');
    expect(up.since.getTime()).toBeGreaterThanOrEqual(acceptedAt);
    console.log(`[rabbitmq health] cut shown as reconnecting after ${shownAfterMs} ms; connected again ${up.since.getTime() - acceptedAt} ms after the proxy accepted`);
    expect(shownAfterMs).toBeLessThan(1_000);

    // The connection really works again: the consumer was re-created and gets a new message.
    await transport.publish([{ topic, id: 'after', key: undefined, headers: {}, body: bytes('x') }]);
    await log.waitFor((d) => d.some((delivery) => delivery.message.id === 'after'), 'the message published after recovery');

    await transport.close();
    expect(transport.health!().state).toBe('closed');
  });

  it('notices a silent connection (traffic dropped, nothing reset) after the missed heartbeats, and reconnects', async () => {
    const logger = recordingLogger();
    const heartbeatSeconds = 1;
    const transport = open(viaProxy(endpoint.url, proxy), { heartbeatSeconds, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } }, logger);
    await transport.connect();
    expect(transport.health!().state).toBe('connected');
    const silencedAt = Date.now();
    expect(proxy.blackhole()).toBe(1);
    const lost = await logger.waitFor(/connection lost, reconnecting/, 10_000);
    const down = transport.health!();
    expect(down.state).toBe('reconnecting');
    // Either end may give up first: amqplib on missed heartbeats, or the broker, which closes its
    // side on missed heartbeats too (the proxy passes that close on as a reset).
    expect(String((lost.fields.err as Error).message)).toMatch(/heartbeat|ECONNRESET/i);
    expect(down.lastError).toBeDefined();
    const shownAfterMs = down.since.getTime() - silencedAt;
    await logger.waitFor(/reconnected/, 10_000);
    expect(transport.health!().state).toBe('connected');
    console.log(`[rabbitmq health] silent connection (heartbeat ${heartbeatSeconds} s) shown as reconnecting after ${shownAfterMs} ms`);
    // amqplib gives the socket up after 3 silent heartbeat intervals; the rest is timer lateness on a busy machine.
    expect(shownAfterMs).toBeLessThanOrEqual(3 * heartbeatSeconds * 1_000 + 1_500);
  });

  it('stays connecting, with the scrubbed error, when the first connect fails', async () => {
    const logger = recordingLogger();
    const port = await freePort();
    const transport = open(`amqp://u:s3cret-h3alth@127.0.0.1:${port}`, { connectTimeoutMs: 1_000 }, logger);
    await expect(transport.connect()).rejects.toThrow(/cannot connect/);
    const health = transport.health!();
    expect(health.state).toBe('connecting');
    expect(health.lastError?.message).toMatch(/ECONNREFUSED/);
    expect(health.lastError?.message).toContain('u:***@127.0.0.1');
    expect(JSON.stringify(health)).not.toContain('s3cret-h3alth');
  });
});
