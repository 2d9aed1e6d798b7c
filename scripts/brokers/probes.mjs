// Protocol-level "does it answer?" probes, node:net only.
// Each probe resolves to { ok: true, detail } or { ok: false, error } and never rejects.
import net from 'node:net';

/**
 * Opens a TCP connection, optionally writes `request`, and feeds the received bytes to
 * `parse(buffer)` until it returns a non-undefined value ({ ok, ... }).
 */
function exchange({ host, port, timeoutMs = 2_000, request, parse }) {
  return new Promise((resolvePromise) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = net.createConnection({ host, port });
    const finish = (result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolvePromise(result);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `no answer from ${host}:${port} within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => {
      if (!parse) return finish({ ok: true, detail: 'tcp' });
      if (request) socket.write(request);
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let result;
      try {
        result = parse(buf);
      } catch (err) {
        result = { ok: false, error: `unexpected answer from ${host}:${port}: ${err.message}` };
      }
      if (result !== undefined) finish(result);
    });
    socket.once('error', (err) => finish({ ok: false, error: `${host}:${port}: ${err.code ?? err.message}` }));
    socket.once('close', () => finish({ ok: false, error: `${host}:${port} closed the connection` }));
  });
}

export const tcpProbe = (host, port, timeoutMs = 1_000) => exchange({ host, port, timeoutMs });

/** AMQP 0-9-1: send the protocol header, expect a connection.start method frame (class 10, method 10). */
export function amqpProbe(host, port, timeoutMs = 3_000) {
  return exchange({
    host,
    port,
    timeoutMs,
    request: Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]),
    parse: (buf) => {
      if (buf.length < 11) return undefined;
      if (buf.subarray(0, 4).toString('latin1') === 'AMQP') return { ok: false, error: 'server rejected AMQP 0-9-1 header' };
      const ok = buf[0] === 1 && buf.readUInt16BE(7) === 10 && buf.readUInt16BE(9) === 10;
      return ok ? { ok: true, detail: 'AMQP connection.start received' } : { ok: false, error: 'not an AMQP 0-9-1 server' };
    },
  });
}

/** Redis: PING -> +PONG (an -NOAUTH/-ERR reply still proves a Redis server answers). */
export function redisProbe(host, port, timeoutMs = 2_000) {
  return exchange({
    host,
    port,
    timeoutMs,
    request: Buffer.from('PING\r\n'),
    parse: (buf) => {
      const text = buf.toString('latin1');
      if (!text.includes('\r\n')) return undefined;
      if (text.startsWith('+PONG')) return { ok: true, detail: 'PONG' };
      if (text.startsWith('-')) return { ok: true, detail: text.split('\r\n')[0] };
      return { ok: false, error: `not a Redis server (${JSON.stringify(text.slice(0, 40))})` };
    },
  });
}

/** NATS: the server greets every client with `INFO {json}\r\n`. Reports whether JetStream is enabled. */
export function natsProbe(host, port, timeoutMs = 2_000) {
  return exchange({
    host,
    port,
    timeoutMs,
    parse: (buf) => {
      const text = buf.toString('utf8');
      if (!text.includes('\r\n')) return undefined;
      if (!text.startsWith('INFO ')) return { ok: false, error: 'not a NATS server' };
      let info = {};
      try {
        info = JSON.parse(text.slice(5, text.indexOf('\r\n')));
      } catch {
        // version detail only
      }
      return { ok: true, detail: `nats ${info.version ?? '?'}${info.jetstream ? ' jetstream' : ' (no jetstream)'}`, jetstream: Boolean(info.jetstream) };
    },
  });
}

// --- Kafka -----------------------------------------------------------------------------------
// A minimal client for two requests: ApiVersions v0 (to learn which Metadata versions the broker
// speaks) and Metadata v1..v8 (non-flexible encodings). A broker that lists at least one alive
// broker in its Metadata answer is registered and unfenced, i.e. ready for clients.

const CLIENT_ID = Buffer.from('omnibus-brokers-probe');

function kafkaRequest(apiKey, apiVersion, correlationId, body) {
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(CLIENT_ID.length, 8);
  const payload = Buffer.concat([header, CLIENT_ID, body]);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

/** Returns the response payload (after the size prefix) once complete, else undefined. */
function kafkaFrame(buf) {
  if (buf.length < 4) return undefined;
  const size = buf.readInt32BE(0);
  if (buf.length < 4 + size) return undefined;
  return buf.subarray(4, 4 + size);
}

function metadataBody(version) {
  const parts = [Buffer.from([0, 0, 0, 0])]; // topics: empty array -> brokers only
  if (version >= 4) parts.push(Buffer.from([0])); // allow_auto_topic_creation
  if (version >= 8) parts.push(Buffer.from([0, 0])); // include_{cluster,topic}_authorized_operations
  return Buffer.concat(parts);
}

function parseMetadata(frame, version) {
  let o = 4; // correlation id
  if (version >= 3) o += 4; // throttle_time_ms
  const count = frame.readInt32BE(o);
  o += 4;
  const brokers = [];
  for (let i = 0; i < count; i++) {
    const nodeId = frame.readInt32BE(o);
    o += 4;
    const hostLen = frame.readInt16BE(o);
    o += 2;
    const host = frame.subarray(o, o + hostLen).toString('utf8');
    o += hostLen;
    const port = frame.readInt32BE(o);
    o += 4;
    const rackLen = frame.readInt16BE(o);
    o += 2 + Math.max(rackLen, 0);
    brokers.push({ nodeId, host, port });
  }
  return brokers;
}

export async function kafkaProbe(host, port, timeoutMs = 3_000) {
  const versions = await exchange({
    host,
    port,
    timeoutMs,
    request: kafkaRequest(18, 0, 1, Buffer.alloc(0)),
    parse: (buf) => {
      const frame = kafkaFrame(buf);
      if (!frame) return undefined;
      if (frame.readInt32BE(0) !== 1) return { ok: false, error: 'not a Kafka broker (bad correlation id)' };
      const errorCode = frame.readInt16BE(4);
      if (errorCode !== 0) return { ok: false, error: `ApiVersions error code ${errorCode}` };
      const n = frame.readInt32BE(6);
      for (let i = 0, o = 10; i < n; i++, o += 6) {
        if (frame.readInt16BE(o) === 3) return { ok: true, min: frame.readInt16BE(o + 2), max: frame.readInt16BE(o + 4) };
      }
      return { ok: false, error: 'broker does not list the Metadata API' };
    },
  });
  if (!versions.ok) return versions;
  const version = Math.min(8, versions.max);
  if (version < Math.max(1, versions.min)) return { ok: false, error: `no Metadata version in 1..8 supported (${versions.min}..${versions.max})` };
  return exchange({
    host,
    port,
    timeoutMs,
    request: kafkaRequest(3, version, 2, metadataBody(version)),
    parse: (buf) => {
      const frame = kafkaFrame(buf);
      if (!frame) return undefined;
      const brokers = parseMetadata(frame, version);
      if (brokers.length === 0) return { ok: false, error: 'Kafka answers but lists no alive broker yet' };
      return { ok: true, detail: `kafka metadata v${version}: ${brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(', ')}`, brokers };
    },
  });
}
