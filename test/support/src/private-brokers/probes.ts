// Protocol-level "ready?" checks for private brokers. Each resolves to true when the broker answers
// as ready, false otherwise (refused, closed, wrong answer, no answer in time). Raw node:net
// exchanges, except NATS, which uses the client so that every NATS auth method can be probed.
import net from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect, type ConnectionOptions } from '@nats-io/transport-node';

function exchange(port: number, request: Buffer, ready: (received: Buffer) => boolean | undefined, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const verdict = ready(received);
      if (verdict !== undefined) finish(verdict);
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/** PING answered by +PONG (not -LOADING while the AOF is replayed), after AUTH when there is a `password`. */
export const redisReady = (port: number, password?: string, timeoutMs = 2_000): Promise<boolean> => {
  const resp = (...parts: string[]) => `*${parts.length}\r\n${parts.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join('')}`;
  const request = password === undefined ? 'PING\r\n' : resp('AUTH', password) + resp('PING');
  const expected = password === undefined ? ['+PONG'] : ['+OK', '+PONG'];
  return exchange(port, Buffer.from(request), (buf) => {
    const replies = buf.toString('latin1').split('\r\n').slice(0, -1);
    if (replies.length < expected.length) return undefined;
    return expected.every((reply, i) => replies[i]?.startsWith(reply));
  }, timeoutMs);
};

/**
 * A JetStream API request ($JS.API.INFO, which jetstreamManager() sends) answered with account info,
 * so the server has recovered its streams, not only opened its client port. `auth`: how to
 * authenticate when the server requires it (user/pass, token, authenticator).
 */
export async function natsJetStreamReady(port: number, auth: Partial<ConnectionOptions> = {}, timeoutMs = 2_000): Promise<boolean> {
  let nc: Awaited<ReturnType<typeof natsConnect>> | undefined;
  try {
    nc = await natsConnect({ servers: `127.0.0.1:${port}`, timeout: timeoutMs, reconnect: false, ...auth });
    await jetstreamManager(nc, { timeout: timeoutMs });
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => {});
  }
}

/** An ApiVersions (v0) request answered with error code 0. */
export function kafkaReady(port: number, timeoutMs = 2_000): Promise<boolean> {
  const clientId = Buffer.from('omnibus-probe');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2); // v0
  body.writeInt32BE(7, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return exchange(
    port,
    Buffer.concat([size, body]),
    (buf) => {
      if (buf.length < 10) return undefined;
      return buf.readInt32BE(4) === 7 && buf.readInt16BE(8) === 0;
    },
    timeoutMs,
  );
}

/** AMQP 0-9-1 protocol header answered by connection.start. */
export const amqpReady = (port: number, timeoutMs = 2_000): Promise<boolean> =>
  exchange(port, Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]), (buf) => {
    if (buf.length < 11) return undefined;
    return buf[0] === 1 && buf.readUInt16BE(7) === 10 && buf.readUInt16BE(9) === 10;
  }, timeoutMs);

/** AMQP 1.0 with SASL: the SASL protocol header answered by the same header and a sasl-mechanisms frame (0x40). */
export const amqp10Ready = (port: number, timeoutMs = 2_000): Promise<boolean> =>
  exchange(port, Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]), (buf) => {
    if (buf.length < 8 + 8 + 3) return undefined;
    const header = buf.subarray(0, 8).equals(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]));
    const at = 8 + (buf[12] as number) * 4;
    if (buf.length < at + 3) return undefined;
    return header && buf[at] === 0x00 && buf[at + 1] === 0x53 && buf[at + 2] === 0x40;
  }, timeoutMs);
