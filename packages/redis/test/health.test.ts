import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { TransportHealth } from '@omnibus/core';
import { describeWithBroker, freePort, TcpProxy, viaProxy } from '@omnibus/test-support';
import type { RedisTransport } from '../src/index.js';
import { Collector } from './helpers/collector.js';
import { eventually } from './helpers/wait.js';
import { fast, Harness, message } from './helpers/transports.js';

const reconnect = { initialDelayMs: 20, maxDelayMs: 200 };

/** health() is local state: re-read it until it says `state` (it has no event to wait on). */
async function healthUntil(transport: RedisTransport, state: TransportHealth['state'], timeoutMs = 5_000): Promise<TransportHealth> {
  await eventually(() => transport.health().state === state, { timeoutMs, everyMs: 5, what: `health() to say ${state} (it says ${JSON.stringify(transport.health())})` });
  return transport.health();
}

describeWithBroker('redis', 'redis transport: health', (endpoint) => {
  let proxy: TcpProxy;
  let harness: Harness;
  let direct: Harness;
  beforeEach(async () => {
    const target = new URL(endpoint.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    harness = new Harness(viaProxy(endpoint.url, proxy));
    direct = new Harness(endpoint.url);
  });
  afterEach(async () => {
    proxy.accept();
    await harness.cleanup();
    await direct.cleanup();
    await proxy.close();
  });

  it('says connecting before connect(), connected after, reconnecting at once when the connections are cut, connected after recovery, closed after close()', async () => {
    const created = Date.now();
    const transport = harness.transport({ reconnect });
    expect(transport.health().state).toBe('connecting');
    expect(transport.health().since.getTime()).toBeGreaterThanOrEqual(created);
    const collector = new Collector();
    await transport.subscribe(collector.params('outage', 'g'));
    const connected = transport.health();
    expect(connected).toMatchObject({ state: 'connected', lastError: undefined });

    proxy.refuse();
    const cutAt = Date.now();
    expect(proxy.cutAll()).toBe(2); // the command connection and the consumer's
    const down = await healthUntil(transport, 'reconnecting', 1_000);
    const shownAfterMs = Date.now() - cutAt;
    expect(down.since.getTime()).toBeGreaterThanOrEqual(cutAt);
    // Reconnect attempts against a refusing proxy fail: the last one is reported.
    await eventually(() => transport.health().lastError !== undefined, { everyMs: 5, what: 'a connection error in health()' });
    expect(transport.health().state).toBe('reconnecting');
    expect(transport.health().since).toEqual(down.since);

    proxy.accept();
    const acceptedAt = Date.now();
    const up = await healthUntil(transport, 'connected', 5_000);
    const recoveredAfterMs = Date.now() - acceptedAt;
    expect(up.since.getTime()).toBeGreaterThanOrEqual(acceptedAt);
    expect(up.lastError?.message).toMatch(/ECONNRESET|closed|connect/i);
    console.log(`[redis health] outage shown after ${shownAfterMs} ms; connected again ${recoveredAfterMs} ms after the proxy accepted`);

    // Both connections really work again.
    await transport.publish([message('outage', 'after')]);
    await collector.waitFor((d) => d.message.id === 'after', 'the message published after recovery');

    await transport.close();
    expect(transport.health().state).toBe('closed');
  });

  it("says reconnecting while only a consumer's connection is down", async () => {
    const transport = harness.transport({ reconnect });
    const subscription = await transport.subscribe(new Collector().params('consumer-only', 'g'));
    const before = transport.health();
    expect(before.state).toBe('connected');
    // The consumer's socket alone dies (the proxy refuses its reconnects); the command connection stays up.
    proxy.refuse();
    const consumerConnection = (subscription as unknown as { blocking: Redis }).blocking;
    consumerConnection.stream.destroy();
    await healthUntil(transport, 'reconnecting', 2_000);
    // The command connection is the one that stayed up: the proxy refuses every new connection, yet this publish is answered.
    await transport.publish([message('consumer-only', 'while-the-consumer-is-away')]);
    expect(transport.health().state).toBe('reconnecting');
    proxy.accept();
    await healthUntil(transport, 'connected', 5_000);
    expect(transport.health().since.getTime()).toBeGreaterThan(before.since.getTime());
  });

  it('notices a silent connection (traffic dropped, nothing reset) within the command timeout, reconnects, and consumes again', async () => {
    const commandTimeoutMs = 1_000;
    const transport = harness.transport({ reconnect, commandTimeoutMs });
    const collector = new Collector();
    await transport.subscribe(collector.params('silent', 'g'));
    await transport.publish([message('silent', 'before')]);
    await collector.waitFor((d) => d.message.id === 'before', 'the message before the outage');

    const silencedAt = Date.now();
    expect(proxy.blackhole()).toBe(2);
    const down = await healthUntil(transport, 'reconnecting', 3 * commandTimeoutMs);
    const shownAfterMs = down.since.getTime() - silencedAt;
    const up = await healthUntil(transport, 'connected', 5_000);
    console.log(`[redis health] silent connection: reconnecting after ${shownAfterMs} ms, connected again after ${up.since.getTime() - silencedAt} ms`);
    expect(shownAfterMs).toBeLessThanOrEqual(commandTimeoutMs + fast.blockMs + 1_000);

    // Published from outside the proxy: the consumer reads it on its new connection.
    await direct.transport({ prefix: harness.prefix }).publish([message('silent', 'after')]);
    await collector.waitFor((d) => d.message.id === 'after', 'the message after the silent outage', 10_000);
    await transport.publish([message('silent', 'published-after')]);
    await collector.waitFor((d) => d.message.id === 'published-after', 'a message published on the new command connection');
  });

  it('stays connecting, with the error, when the first connect fails', async () => {
    const port = await freePort();
    const transport = harness.transport({ connectTimeoutMs: 1_000 }, undefined, `redis://u:s3cret-h3alth@127.0.0.1:${port}`);
    await expect(transport.connect()).rejects.toThrow();
    const health = transport.health();
    expect(health.state).toBe('connecting');
    expect(health.lastError?.message).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(health)).not.toContain('s3cret-h3alth');
  });
});
