// Issue 12, item 9 (NATS): maxMessageBytes is the server's max_payload (from its INFO) less what
// the transport adds; a message the server would refuse is refused at once, before anything of
// its batch is sent; a refusal by JetStream comes back at once as a PublishError, never after a
// publish timeout.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { OutgoingMessage, Transport } from '@omnibus/core';
import type { NatsOptionsInput } from '@omnibus/nats';
import { describeWithBroker, isCI, privateBrokerUnavailable, startNats, tempDir, uniqueName, type PrivateBroker } from '@omnibus/test-support';
import { HEADER_ALLOWANCE } from '../src/capabilities.js';
import { adminConnection, deleteStreams, natsTransport, serverOf, uniquePrefixes } from './helpers.js';

const MAX_PAYLOAD = 65_536;
const privateSuite = !privateBrokerUnavailable('nats') || isCI() ? describe : describe.skip;

const message = (topic: string, id: string, bodyBytes: number, headers: Record<string, string> = {}): OutgoingMessage => ({
  id,
  deduplicationId: id,
  topic,
  key: undefined,
  headers,
  body: new Uint8Array(bodyBytes).fill(120),
});

async function storedCount(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: serverOf(url) });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

privateSuite(`nats transport: a server with max_payload ${MAX_PAYLOAD}`, () => {
  let server: PrivateBroker;
  const opened: Transport[] = [];
  const prefixes = uniquePrefixes('payload');
  const open = async (options: NatsOptionsInput = {}): Promise<Transport> => {
    const transport = natsTransport(server.url, { ...prefixes, publishTimeoutMs: 10_000, ...options });
    opened.push(transport);
    await transport.connect();
    return transport;
  };

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('declares maxMessageBytes from the server INFO, sends what fits and refuses a batch with one message too large before sending any', async () => {
    const config = join(tempDir('nats-payload'), 'nats.conf');
    writeFileSync(config, `max_payload: ${MAX_PAYLOAD}\n`);
    server = await startNats({ args: ['-c', config] });
    const transport = await open();
    expect(transport.capabilities.maxMessageBytes).toBe(MAX_PAYLOAD - HEADER_ALLOWANCE);
    const topic = uniqueName('payload');
    await transport.ensureGroup(topic, 'g1');
    const stream = `${prefixes.streamPrefix}_${topic}`;

    // The declared limit is true: a message of exactly maxMessageBytes (body + header names and values) is stored.
    const headers = { 'ce-id': 'x'.repeat(36), 'ce-type': 'orders.created', 'ce-source': 'omnibus' };
    const headerBytes = Object.entries(headers).reduce((sum, [k, v]) => sum + k.length + v.length, 0);
    await transport.publish([message(topic, 'fits', transport.capabilities.maxMessageBytes - headerBytes, headers)]);
    expect(await storedCount(server.url, stream)).toBe(1);

    // [small, over max_payload, small]: refused at once, nothing of the batch sent.
    const started = Date.now();
    const error = await transport.publish([message(topic, 'a', 10), message(topic, 'huge', MAX_PAYLOAD + 1), message(topic, 'b', 10)]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MESSAGE_TOO_LARGE', index: 1, limit: MAX_PAYLOAD });
    expect((error as Error).message).toMatch(/message 1 of the batch .* is \d+ bytes/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await storedCount(server.url, stream)).toBe(1);

    // Header values NATS must escape (newlines, unicode) grow on the wire: measured as sent, refused at once.
    const escaped = { trace: 'é\n'.repeat(6_000) };
    const grown = await transport.publish([message(topic, 'grown', MAX_PAYLOAD - 20_000, escaped)]).catch((e: unknown) => e);
    expect(grown).toMatchObject({ code: 'MESSAGE_TOO_LARGE', limit: MAX_PAYLOAD });
    expect(await storedCount(server.url, stream)).toBe(1);
  });
});

describeWithBroker('nats', 'nats transport: refusals by JetStream', (endpoint) => {
  const prefixes = uniquePrefixes('refusal');
  const opened: Transport[] = [];
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await deleteStreams(endpoint.url, prefixes.streamPrefix);
  });

  it("rejects at once with a PublishError when the stream refuses a message (its max_msg_size), not after publishTimeoutMs", async () => {
    const transport = natsTransport(endpoint.url, { ...prefixes, publishTimeoutMs: 10_000 });
    opened.push(transport);
    await transport.connect();
    const topic = uniqueName('refused');
    await transport.ensureGroup(topic, 'g1');
    const stream = `${prefixes.streamPrefix}_${topic}`;
    const nc = await adminConnection(endpoint.url);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.update(stream, { max_msg_size: 1_000 });
    } finally {
      await nc.close();
    }
    const started = Date.now();
    const error = await transport.publish([message(topic, 'big', 2_000)]).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PUBLISH_FAILED' });
    expect((error as Error).message).toMatch(/size/i);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
