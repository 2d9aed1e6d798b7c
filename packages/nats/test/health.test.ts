import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { TransportHealth } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { brokerAddress, describeWithBroker, freePort, TcpProxy, uniqueName, viaProxy } from '@omnibus/test-support';
import { bytes, collector, deleteStreams, observableTransport, uniquePrefixes, type ObservableTransport } from './helpers.js';

/** health() is local state with no event to wait on: re-read it until `accept` holds, within `timeoutMs`. */
async function healthWhen(transport: ObservableTransport, accept: (health: TransportHealth) => boolean, timeoutMs: number, what: string): Promise<TransportHealth> {
  const deadline = Date.now() + timeoutMs;
  while (!accept(transport.health())) {
    if (Date.now() > deadline) throw new Error(`health() never showed ${what} within ${timeoutMs} ms; it says ${JSON.stringify(transport.health())}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return transport.health();
}

const healthUntil = (transport: ObservableTransport, state: TransportHealth['state'], timeoutMs: number) => healthWhen(transport, (h) => h.state === state, timeoutMs, state);

/**
 * The transport connects through a TCP proxy the test breaks; the publisher that checks the
 * consumer works again connects directly.
 */
describeWithBroker('nats', 'nats transport: health', (endpoint) => {
  const prefixes = uniquePrefixes('health');
  let proxy: TcpProxy;
  let proxyUrl: string;
  const opened: ObservableTransport[] = [];
  const create = (url: string, options: NatsOptionsInput = {}): ObservableTransport => {
    const transport = observableTransport(url, { ...prefixes, reconnectTimeWaitMs: 100, ...options });
    opened.push(transport);
    return transport;
  };
  const message = (topic: string, id: string) => ({ id, topic, key: undefined, headers: {}, body: bytes(id) });

  beforeAll(async () => {
    proxy = await TcpProxy.start(brokerAddress(endpoint.url, 4222));
    proxyUrl = viaProxy(endpoint.url, proxy);
  });
  afterEach(async () => {
    proxy.accept();
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await proxy?.close();
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it('says connecting before connect(), connected after, reconnecting at once when the connection is cut, connected after recovery, closed after close()', async () => {
    const created = Date.now();
    const transport = create(proxyUrl);
    expect(transport.health().state).toBe('connecting');
    expect(transport.health().since.getTime()).toBeGreaterThanOrEqual(created);
    const topic = uniqueName('outage');
    const seen = collector();
    seen.handle = (d) => void d.ack();
    await transport.subscribe({ topic, group: 'g', concurrency: 2, onDelivery: seen.onDelivery, onError: seen.onError });
    expect(transport.health()).toMatchObject({ state: 'connected', lastError: undefined });

    proxy.refuse();
    const refusedBefore = proxy.counters.refused;
    const cutAt = Date.now();
    expect(proxy.cutAll()).toBe(1);
    const down = await healthUntil(transport, 'reconnecting', 1_000);
    const shownAfterMs = Date.now() - cutAt;
    expect(down.since.getTime()).toBeGreaterThanOrEqual(cutAt);
    expect(down.lastError?.message).toMatch(/connection to NATS server 127\.0\.0\.1:\d+ lost/);
    // Dial attempts against a refusing proxy fail; health stays reconnecting since the cut and says so.
    await proxy.waitFor('refused', refusedBefore + 2, 5_000);
    const refusedAgain = await healthWhen(transport, (h) => /reconnect attempt \d+ to NATS failed/.test(h.lastError?.message ?? ''), 2_000, 'a failed reconnect attempt');
    expect(refusedAgain).toMatchObject({ state: 'reconnecting', since: down.since });

    proxy.accept();
    const acceptedAt = Date.now();
    const up = await healthUntil(transport, 'connected', 5_000);
    const recoveredAfterMs = Date.now() - acceptedAt;
    expect(up.since.getTime()).toBeGreaterThanOrEqual(acceptedAt);
    console.log(`[nats health] cut connection shown after ${shownAfterMs} ms; connected again ${recoveredAfterMs} ms after the proxy accepted (reconnectTimeWaitMs 100)`);

    // The connection really works again: the subscription gets what is published after the outage.
    await transport.publish([message(topic, 'after')]);
    await seen.until(() => seen.deliveries.some((d) => d.message.id === 'after'), 10_000, 'the message published after recovery');

    await transport.close();
    expect(transport.health().state).toBe('closed');
  });

  it('notices a silent connection (traffic dropped, nothing reset) by its unanswered pings, and reconnects', async () => {
    const pingIntervalMs = 300;
    const transport = create(proxyUrl, { pingIntervalMs });
    await transport.connect();
    expect(transport.health().state).toBe('connected');
    const silencedAt = Date.now();
    expect(proxy.blackhole()).toBe(1);
    // The blackhole takes only the existing connection: a redial goes through at once, so the
    // 'reconnecting' state may last a millisecond. What must show is the loss, with its time.
    const down = await healthWhen(transport, (h) => (h.lastError?.at.getTime() ?? 0) >= silencedAt, 10 * pingIntervalMs, 'the loss of the silent connection');
    const shownAfterMs = (down.lastError?.at.getTime() ?? Number.NaN) - silencedAt;
    expect(down.lastError?.message).toMatch(/did not answer pings|lost/);
    const up = await healthUntil(transport, 'connected', 5_000);
    console.log(`[nats health] silent connection (pingIntervalMs ${pingIntervalMs}): reconnecting after ${shownAfterMs} ms, connected again after ${up.since.getTime() - silencedAt} ms`);
    // Two unanswered pings are tolerated (maxPingOut 2), the third interval drops the connection.
    expect(shownAfterMs).toBeLessThanOrEqual(4 * pingIntervalMs + 500);
    const topic = uniqueName('silent');
    await transport.ensureGroup(topic, 'g');
    await transport.publish([message(topic, 'on-the-new-connection')]);
    expect((await transport.inspect(topic, 'g')).groups[0]?.waiting?.value).toBe(1);
  });

  it('stays connecting, with the error and without credentials, when the first connect fails', async () => {
    const port = await freePort();
    const created = Date.now();
    const transport = create(`nats://u:s3cret-h3alth@127.0.0.1:${port}`, { connectTimeoutMs: 1_000 });
    await expect(transport.connect()).rejects.toThrow(/cannot connect to NATS/);
    const health = transport.health();
    expect(health.state).toBe('connecting');
    expect(health.since.getTime()).toBeGreaterThanOrEqual(created);
    expect(health.lastError?.message).toMatch(/ECONNREFUSED|refused/i);
    expect(health.lastError?.at.getTime()).toBeGreaterThanOrEqual(created);
    expect(JSON.stringify(health)).not.toContain('s3cret-h3alth');
    await transport.close();
    expect(transport.health().state).toBe('closed');
  });
});
